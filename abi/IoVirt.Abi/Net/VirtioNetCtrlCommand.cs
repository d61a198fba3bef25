namespace IoVirt.Abi.Net;

// Command numbers within each control-queue class, virtio 1.2 §5.1.6.5. Each class numbers its
// commands from zero, so they live in one small class per command class.

/// <summary>Commands of <see cref="VirtioNetCtrlClass.Rx"/>; each carries one u8, 0 off or 1 on.</summary>
public static class VirtioNetCtrlRx
{
    public const byte Promisc = 0;
    public const byte AllMulti = 1;
    public const byte AllUni = 2;
    public const byte NoMulti = 3;
    public const byte NoUni = 4;
    public const byte NoBcast = 5;
}

/// <summary>Commands of <see cref="VirtioNetCtrlClass.Mac"/>.</summary>
public static class VirtioNetCtrlMac
{
    /// <summary>Replace the unicast and multicast filter tables.</summary>
    public const byte TableSet = 0;

    /// <summary>Set the default MAC address (needs CTRL_MAC_ADDR).</summary>
    public const byte AddrSet = 1;
}

/// <summary>Commands of <see cref="VirtioNetCtrlClass.Vlan"/>; each carries a le16 VLAN id.</summary>
public static class VirtioNetCtrlVlan
{
    public const byte Add = 0;
    public const byte Del = 1;
}

/// <summary>Commands of <see cref="VirtioNetCtrlClass.Announce"/>.</summary>
public static class VirtioNetCtrlAnnounce
{
    /// <summary>The driver has sent its announcements; the device clears the ANNOUNCE status bit.</summary>
    public const byte Ack = 0;
}

/// <summary>Commands and limits of <see cref="VirtioNetCtrlClass.Mq"/>.</summary>
public static class VirtioNetCtrlMq
{
    /// <summary>Set the number of queue pairs in use (carries <see cref="VirtioNetCtrlMqPairs"/>).</summary>
    public const byte VqPairsSet = 0;

    /// <summary>Configure receive-side scaling (needs RSS).</summary>
    public const byte RssConfig = 1;

    /// <summary>Configure hash reporting (needs HASH_REPORT).</summary>
    public const byte HashConfig = 2;

    /// <summary>Fewest queue pairs VQ_PAIRS_SET accepts.</summary>
    public const ushort VqPairsMin = 1;

    /// <summary>Most queue pairs VQ_PAIRS_SET accepts.</summary>
    public const ushort VqPairsMax = 0x8000;
}

/// <summary>Commands of <see cref="VirtioNetCtrlClass.GuestOffloads"/>.</summary>
public static class VirtioNetCtrlGuestOffloads
{
    /// <summary>Set the receive offloads in use (carries a le64 of GUEST_* feature bits).</summary>
    public const byte Set = 0;
}

/// <summary>Commands of <see cref="VirtioNetCtrlClass.NotfCoal"/>.</summary>
public static class VirtioNetCtrlNotfCoal
{
    /// <summary>Set transmit coalescing (le32 max packets, le32 microseconds).</summary>
    public const byte TxSet = 0;

    /// <summary>Set receive coalescing (le32 max packets, le32 microseconds).</summary>
    public const byte RxSet = 1;
}
