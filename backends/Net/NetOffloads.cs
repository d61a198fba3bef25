namespace IoVirt.Backends.Net;

/// <summary>
/// Work a packet may carry unfinished across a port: a partial checksum, TCP segmentation for
/// IPv4 or IPv6 (with ECN), as the virtio-net header describes it.
/// </summary>
[Flags]
public enum NetOffloads
{
    None = 0,
    Csum = 1,
    Tso4 = 2,
    Tso6 = 4,
    Ecn = 8,
}
