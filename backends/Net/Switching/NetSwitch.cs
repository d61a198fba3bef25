using System.Buffers.Binary;
using IoVirt.Abi.Net;

namespace IoVirt.Backends.Net.Switching;

/// <summary>
/// An L2 switch joining guests' network devices (issue 6, NIC side, first part): each guest is
/// a <see cref="SwitchPort"/> with a fixed MAC and VLAN, so the MAC table is the port list (an
/// uplink with learned MACs and fair sharing of it are not there yet). Unicast frames go to the port
/// that owns the destination MAC; broadcast, multicast and unknown destinations are flooded to
/// every other port of the same VLAN. Guests cannot spoof (their source MAC is checked) and
/// cannot reach other VLANs. Ports forward from their own workers, so the table is read under
/// a lock that only port changes take for writing.
/// </summary>
public sealed class NetSwitch : IDisposable
{
    private readonly ReaderWriterLockSlim _gate = new();
    private readonly List<SwitchPort> _ports = [];
    private readonly Dictionary<ulong, SwitchPort> _byMac = [];
    private readonly int _slotBytes;

    public NetSwitch(int mtu = 1500) => _slotBytes = VirtioNetHdr.Size + NetTransmitCheck.FrameFor(mtu);

    public IReadOnlyList<SwitchPort> Ports
    {
        get
        {
            _gate.EnterReadLock();
            try
            {
                return [.. _ports];
            }
            finally
            {
                _gate.ExitReadLock();
            }
        }
    }

    /// <summary>Adds a guest port with its own unicast MAC on <paramref name="vlan"/> (0: untagged, else 1-4094).</summary>
    public SwitchPort AddPort(string name, ReadOnlySpan<byte> mac, ushort vlan = 0)
    {
        if (mac.Length != 6 || (mac[0] & 1) != 0)
        {
            throw new ArgumentException("a port needs a 6-byte unicast MAC", nameof(mac));
        }

        if (vlan >= 4095)
        {
            throw new ArgumentOutOfRangeException(nameof(vlan), vlan, "VLAN ids are 1 to 4094 (0: untagged)");
        }

        var port = new SwitchPort(this, name, mac, vlan, _slotBytes);
        _gate.EnterWriteLock();
        try
        {
            if (!_byMac.TryAdd(Key(mac), port))
            {
                port.Dispose();
                throw new ArgumentException($"MAC {Convert.ToHexString(mac)} is already on the switch", nameof(mac));
            }

            _ports.Add(port);
        }
        finally
        {
            _gate.ExitWriteLock();
        }

        return port;
    }

    /// <summary>Forwards a packet from <paramref name="from"/>; true when some port took it.</summary>
    internal bool Forward(SwitchPort from, ReadOnlySpan<byte> packet)
    {
        var frame = packet[VirtioNetHdr.Size..];
        if (IsTagged(frame))
        {
            return false; // guests send untagged; the switch tags by port
        }

        var delivered = false;
        _gate.EnterReadLock();
        try
        {
            if ((frame[0] & 1) == 0 && _byMac.TryGetValue(Key(frame[..6]), out var target))
            {
                return target != from && target.Vlan == from.Vlan && target.Deliver(packet);
            }

            foreach (var port in _ports)
            {
                if (port != from && port.Vlan == from.Vlan)
                {
                    delivered |= port.Deliver(packet);
                }
            }
        }
        finally
        {
            _gate.ExitReadLock();
        }

        return delivered;
    }

    private static bool IsTagged(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) is 0x8100 or 0x88a8;

    private static ulong Key(ReadOnlySpan<byte> mac) => BinaryPrimitives.ReadUInt32BigEndian(mac) | ((ulong)BinaryPrimitives.ReadUInt16BigEndian(mac[4..]) << 32);

    public void Dispose()
    {
        foreach (var port in _ports)
        {
            port.Dispose();
        }

        _gate.Dispose();
    }
}
