using IoVirt.Abi.Net;
using IoVirt.Arbitration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoVirt.Backends.Net.Switching;

/// <summary>
/// A learning L2 switch joining guests' network devices, with at most one uplink (issue 6, NIC
/// side). Each guest is a <see cref="SwitchPort"/> with a fixed MAC and VLAN; guests cannot spoof
/// (their source MAC is checked) and cannot reach other VLANs. Unicast to a guest's MAC goes to
/// that port; to a MAC learned on the uplink, to the uplink; broadcast, multicast and unknown
/// destinations are flooded within the VLAN, the uplink included. The uplink is a trunk: frames
/// of VLAN n ≠ 0 cross it tagged n. Sources seen on it are learned (bounded, with aging), and a
/// frame from it with a guest's source MAC is dropped. Guest frames for the uplink wait in
/// per-port queues that share it by weighted deficit round robin, and frames for a guest wait
/// in per-source queues that share the guest the same way. Ports forward from their own
/// workers and the uplink from its thread, so the port table is read under a lock that only
/// port changes take for writing.
/// </summary>
public sealed class NetSwitch : IDisposable
{
    private readonly ReaderWriterLockSlim _gate = new();
    private readonly List<SwitchPort> _ports = [];
    private readonly Dictionary<MacAddress, SwitchPort> _byMac = [];
    private readonly int _slotBytes;
    private readonly NetCostModel _cost;
    private readonly int _uplinkWeight;
    private readonly INetPort? _uplinkPort;
    private readonly LearnedMacs? _learned;
    private readonly FairFrameQueues? _queues;
    private readonly Uplink? _uplink;

    /// <summary>The counters of the port behind each uplink queue, by queue number; replaced whole, so the uplink thread reads it without the lock.</summary>
    private volatile SwitchCounters[] _uplinkSenders = [];

    /// <param name="mtu">The largest IP packet a guest sends.</param>
    /// <param name="uplink">The way out (a TAP), owned by the switch from now on; null for none.</param>
    /// <param name="options">Learning on the uplink, and sharing of it and of each port; defaults when null.</param>
    /// <param name="log">Where the uplink's failures are logged; none when null.</param>
    public NetSwitch(int mtu = 1500, INetPort? uplink = null, UplinkOptions? options = null, ILogger? log = null)
    {
        _slotBytes = VirtioNetHdr.Size + NetTransmitCheck.FrameFor(mtu);
        options ??= new UplinkOptions();
        options.Validate();
        _cost = options.Cost;
        _uplinkWeight = options.Weight;
        if (uplink is null)
        {
            return;
        }

        _uplinkPort = uplink;
        _learned = new LearnedMacs(options, UplinkCounters);
        // Each port brings a queue's worth of slots, and one more is shared: a port alone gets its whole queue.
        _queues = new FairFrameQueues(options.Cost, options.QueueFrames, _slotBytes + VlanTag.Size, poolFrames: options.QueueFrames, framesPerSource: options.QueueFrames);
        _uplink = new Uplink(this, uplink, _queues, UplinkCounters, log ?? NullLogger.Instance);
    }

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

    /// <summary>What crossed the uplink (all zero without one).</summary>
    public UplinkCounters UplinkCounters { get; } = new();

    /// <summary>True when the switch was made with an uplink port.</summary>
    public bool HasUplink => _uplink is not null;

    /// <summary>MACs currently learned on the uplink.</summary>
    public int LearnedCount => _learned?.Count ?? 0;

    /// <summary>
    /// Adds a guest port with its own unicast MAC on <paramref name="vlan"/> (0: untagged, else
    /// 1-4094), with <paramref name="weight"/> shares of the uplink and of each port it sends to.
    /// </summary>
    public SwitchPort AddPort(string name, MacAddress mac, ushort vlan = 0, int weight = 1)
    {
        if (mac.IsMulticast)
        {
            throw new ArgumentException("a port needs a unicast MAC", nameof(mac));
        }

        if (vlan >= 4095)
        {
            throw new ArgumentOutOfRangeException(nameof(vlan), vlan, "VLAN ids are 1 to 4094 (0: untagged)");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 1);
        _gate.EnterWriteLock();
        try
        {
            if (_byMac.ContainsKey(mac))
            {
                throw new ArgumentException($"MAC {mac} is already on the switch", nameof(mac));
            }

            var counters = new SwitchCounters();
            var uplinkQueue = -1;
            if (_queues is not null)
            {
                uplinkQueue = _queues.AddSource(weight);
                _uplinkSenders = [.. _uplinkSenders, counters];
            }

            var port = new SwitchPort(this, name, mac, vlan, weight, counters, _ports.Count, uplinkQueue, _cost, _slotBytes);
            if (_uplink is not null)
            {
                port.AddSource(null, _uplinkWeight);
            }

            // Only ports of one VLAN send to each other.
            foreach (var other in _ports)
            {
                if (other.Vlan == vlan)
                {
                    other.AddSource(port, weight);
                    port.AddSource(other, other.Weight);
                }
            }

            _byMac.Add(mac, port);
            _ports.Add(port);
            return port;
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    /// <summary>Forwards a packet from <paramref name="from"/>; true when some port or the uplink queue took it.</summary>
    internal bool Forward(SwitchPort from, ReadOnlySpan<byte> packet)
    {
        var frame = packet[VirtioNetHdr.Size..];
        if (VlanTag.IsTagged(frame))
        {
            return false; // guests send untagged; the switch tags by port
        }

        _gate.EnterReadLock();
        try
        {
            if ((frame[0] & 1) == 0)
            {
                if (_byMac.TryGetValue(Key(frame[..6]), out var target))
                {
                    return target != from && target.Vlan == from.Vlan && target.Deliver(from, packet);
                }

                if (_learned is not null && _learned.Contains(Key(frame[..6], from.Vlan)))
                {
                    return SendUp(from, packet);
                }
            }

            var delivered = Flood(from, from.Vlan, packet);
            return (_queues is not null && SendUp(from, packet)) | delivered;
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }

    /// <summary>Forwards a packet the uplink received (its tag taken off here, in place).</summary>
    internal void ForwardFromUplink(Span<byte> packet)
    {
        if (!VlanTag.TryStrip(ref packet, out var vlan) || (packet[VirtioNetHdr.Size + 6] & 1) != 0)
        {
            UplinkCounters.Malform();
            return;
        }

        // Offloads the uplink's header may announce mean nothing to guests: ports accept none.
        packet[..VirtioNetHdr.Size].Clear();
        var frame = packet[VirtioNetHdr.Size..];
        _gate.EnterReadLock();
        try
        {
            if (_byMac.ContainsKey(Key(frame.Slice(6, 6))))
            {
                UplinkCounters.Spoof();
                return;
            }

            _learned!.Learn(Key(frame.Slice(6, 6), vlan));
            if ((frame[0] & 1) == 0)
            {
                if (_byMac.TryGetValue(Key(frame[..6]), out var target))
                {
                    _ = target.Vlan == vlan && target.Deliver(null, packet);
                    return;
                }

                if (_learned.Contains(Key(frame[..6], vlan)))
                {
                    return; // behind the uplink already: never sent back out
                }
            }

            _ = Flood(null, vlan, packet);
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }

    /// <summary>Delivers to every port of <paramref name="vlan"/> but <paramref name="from"/> (null: the uplink); true when one took it.</summary>
    private bool Flood(SwitchPort? from, ushort vlan, ReadOnlySpan<byte> packet)
    {
        var delivered = false;
        foreach (var port in _ports)
        {
            if (port != from && port.Vlan == vlan)
            {
                delivered |= port.Deliver(from, packet);
            }
        }

        return delivered;
    }

    private bool SendUp(SwitchPort from, ReadOnlySpan<byte> packet)
    {
        if (_queues!.TryEnqueue(from.UplinkQueue, packet, from.Vlan))
        {
            return true;
        }

        from.Counters.UplinkOverflow();
        return false;
    }

    /// <summary>Counts a frame the uplink took from queue <paramref name="uplinkQueue"/> as its port's.</summary>
    internal void SentUp(int uplinkQueue) => _uplinkSenders[uplinkQueue].SendUp();

    private static MacAddress Key(ReadOnlySpan<byte> mac) => MacAddress.Read(mac);

    /// <summary>A learned station: its MAC on its VLAN.</summary>
    private static ulong Key(ReadOnlySpan<byte> mac, ushort vlan) => MacAddress.Read(mac).Bits | ((ulong)vlan << 48);

    public void Dispose()
    {
        // The uplink thread first: it forwards into the ports.
        _uplink?.Dispose();
        _uplinkPort?.Dispose();
        _queues?.Dispose();
        foreach (var port in _ports)
        {
            port.Dispose();
        }

        _gate.Dispose();
    }
}
