using System.Buffers.Binary;

namespace IoVirt.Backends.Net;

/// <summary>
/// Which frames the guest wants (virtio 1.2 §5.1.6.5.1-3): its MAC, broadcast, the unicast and
/// multicast tables, promiscuous and all-multicast modes, and the VLANs it joined when VLAN
/// filtering was negotiated. The control queue changes it on one thread while receive paths of
/// other queue pairs read it; a frame judged during a change may be judged by either state.
/// </summary>
public sealed class NetReceiveFilter
{
    /// <summary>Addresses per table; a longer table turns on the all-unicast or all-multicast mode, as QEMU does.</summary>
    public const int TableEntries = 64;

    private const ushort VlanType = 0x8100;

    private readonly MacAddress[] _unicast = new MacAddress[TableEntries];
    private readonly MacAddress[] _multicast = new MacAddress[TableEntries];
    private readonly ulong[] _vlans = new ulong[4096 / 64];
    private volatile int _unicastCount;
    private volatile int _multicastCount;

    public NetReceiveFilter(MacAddress mac) => Reset(mac);

    /// <summary>Everything is received (the state after reset, as on QEMU, until the driver says otherwise).</summary>
    public bool Promiscuous { get; set; }

    public bool AllMulticast { get; set; }

    /// <summary>The unicast table overflowed: every unicast frame is received.</summary>
    public bool AllUnicast { get; private set; }

    /// <summary>Tagged frames pass only for VLANs added through the control queue (VIRTIO_NET_F_CTRL_VLAN negotiated).</summary>
    public bool VlanFiltering { get; set; }

    /// <summary>The guest's own address; one machine word, so a receive path never sees half of a change.</summary>
    public MacAddress Mac { get; set; }

    /// <summary>Replaces a table with <paramref name="count"/> addresses packed in <paramref name="addresses"/>.</summary>
    public void SetTable(bool multicast, int count, ReadOnlySpan<byte> addresses)
    {
        var table = multicast ? _multicast : _unicast;
        var overflow = count > TableEntries;
        var kept = overflow ? 0 : count;
        for (var i = 0; i < kept; i++)
        {
            table[i] = MacAddress.Read(addresses[(i * MacAddress.Length)..]);
        }

        if (multicast)
        {
            _multicastCount = kept;
            AllMulticastByTable = overflow;
        }
        else
        {
            _unicastCount = kept;
            AllUnicast = overflow;
        }
    }

    public void SetVlan(ushort id, bool member)
    {
        ref var word = ref _vlans[id >> 6];
        word = member ? word | (1UL << (id & 63)) : word & ~(1UL << (id & 63));
    }

    public bool IsVlanMember(ushort id) => (_vlans[id >> 6] & (1UL << (id & 63))) != 0;

    private bool AllMulticastByTable { get; set; }

    public void Reset(MacAddress mac)
    {
        Mac = mac;
        Promiscuous = true;
        AllMulticast = false;
        AllUnicast = false;
        AllMulticastByTable = false;
        VlanFiltering = false;
        _unicastCount = 0;
        _multicastCount = 0;
        Array.Clear(_vlans);
    }

    /// <summary>Whether the guest receives <paramref name="frame"/> (an Ethernet frame of at least 14 bytes).</summary>
    public bool Accepts(ReadOnlySpan<byte> frame)
    {
        if (VlanFiltering && frame.Length >= 16 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == VlanType
            && !IsVlanMember((ushort)(BinaryPrimitives.ReadUInt16BigEndian(frame[14..]) & 0xfff)))
        {
            return false;
        }

        if (Promiscuous)
        {
            return true;
        }

        var destination = MacAddress.Read(frame);
        if (destination.IsMulticast)
        {
            return destination.IsBroadcast || AllMulticast || AllMulticastByTable || InTable(_multicast, _multicastCount, destination);
        }

        return AllUnicast || destination == Mac || InTable(_unicast, _unicastCount, destination);
    }

    private static bool InTable(MacAddress[] table, int count, MacAddress mac)
    {
        for (var i = 0; i < count; i++)
        {
            if (table[i] == mac)
            {
                return true;
            }
        }

        return false;
    }
}
