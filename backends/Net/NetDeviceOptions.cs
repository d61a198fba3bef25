namespace IoVirt.Backends.Net;

/// <summary>How a <see cref="NetDevice"/> presents itself.</summary>
public sealed record NetDeviceOptions
{
    /// <summary>The first MAC the device reports (locally administered by default).</summary>
    public MacAddress Mac { get; init; } = MacAddress.Read([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

    /// <summary>Largest IP packet without segmentation offload (VIRTIO_NET_F_MTU), 68 to 65535.</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>Receive/transmit queue pairs, 1 to 64.</summary>
    public int QueuePairs { get; init; } = 1;

    /// <summary>Largest ring accepted.</summary>
    public int MaxQueueSize { get; init; } = 1024;
}
