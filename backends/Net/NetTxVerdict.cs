namespace IoVirt.Backends.Net;

/// <summary>What <see cref="NetTransmitCheck"/> makes of a packet the guest transmits.</summary>
public enum NetTxVerdict
{
    /// <summary>Well formed; send it.</summary>
    Valid,

    /// <summary>Shorter than the virtio-net header plus an Ethernet header.</summary>
    TooShort,

    /// <summary>Longer than the MTU allows (or 64 KiB with segmentation offload).</summary>
    TooLong,

    /// <summary>A header flag a transmitted packet cannot carry (DATA_VALID, RSC_INFO, unknown bits).</summary>
    BadFlags,

    /// <summary>NEEDS_CSUM without VIRTIO_NET_F_CSUM.</summary>
    ChecksumNotNegotiated,

    /// <summary>csum_start and csum_offset point past the frame.</summary>
    ChecksumOutsideFrame,

    /// <summary>A segmentation type the device did not offer or the guest did not accept.</summary>
    GsoNotNegotiated,

    /// <summary>Segmentation without NEEDS_CSUM, or with a segment size of zero.</summary>
    BadGso,
}
