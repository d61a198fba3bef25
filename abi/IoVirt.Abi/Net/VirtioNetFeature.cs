namespace IoVirt.Abi.Net;

/// <summary>Network device feature bit numbers, virtio 1.2 §5.1.3.</summary>
public static class VirtioNetFeature
{
    /// <summary>The device handles packets with a partial checksum (transmit offload).</summary>
    public const int Csum = 0;

    /// <summary>The driver handles packets with a partial checksum (receive).</summary>
    public const int GuestCsum = 1;

    /// <summary>The driver can reconfigure receive offloads through the control queue.</summary>
    public const int CtrlGuestOffloads = 2;

    /// <summary>mtu in the config space is valid.</summary>
    public const int Mtu = 3;

    /// <summary>mac in the config space is valid.</summary>
    public const int Mac = 5;

    /// <summary>Legacy only: the device handles any GSO type.</summary>
    public const int LegacyGso = 6;

    public const int GuestTso4 = 7;
    public const int GuestTso6 = 8;
    public const int GuestEcn = 9;
    public const int GuestUfo = 10;
    public const int HostTso4 = 11;
    public const int HostTso6 = 12;
    public const int HostEcn = 13;
    public const int HostUfo = 14;

    /// <summary>The driver can merge receive buffers (num_buffers in the header is meaningful).</summary>
    public const int MrgRxbuf = 15;

    /// <summary>status in the config space is valid.</summary>
    public const int Status = 16;

    /// <summary>A control virtqueue exists.</summary>
    public const int CtrlVq = 17;

    public const int CtrlRx = 18;
    public const int CtrlVlan = 19;
    public const int CtrlRxExtra = 20;
    public const int GuestAnnounce = 21;

    /// <summary>Multiqueue with automatic receive steering; max_virtqueue_pairs is valid.</summary>
    public const int Mq = 22;

    public const int CtrlMacAddr = 23;

    /// <summary>Notification coalescing through the control queue.</summary>
    public const int NotfCoal = 53;

    public const int GuestUso4 = 54;
    public const int GuestUso6 = 55;
    public const int HostUso = 56;

    /// <summary>The device reports a packet hash in the extended header.</summary>
    public const int HashReport = 57;

    /// <summary>The driver sets hdr_len to the exact header length.</summary>
    public const int GuestHdrLen = 59;

    /// <summary>Receive-side scaling; the rss_* config fields are valid.</summary>
    public const int Rss = 60;

    /// <summary>The device reports coalesced segments in the header (RSC_INFO).</summary>
    public const int RscExt = 61;

    /// <summary>The device acts as a standby for a primary device with the same MAC.</summary>
    public const int Standby = 62;

    /// <summary>speed and duplex in the config space are valid.</summary>
    public const int SpeedDuplex = 63;
}
