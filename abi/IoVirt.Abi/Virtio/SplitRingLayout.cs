namespace IoVirt.Abi.Virtio;

/// <summary>Size and alignment rules of the split virtqueue parts, virtio 1.2 §2.7.</summary>
public static class SplitRingLayout
{
    /// <summary>Largest queue size the spec allows.</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>Descriptor table alignment.</summary>
    public const int DescriptorTableAlignment = 16;

    public static ulong DescriptorTableSize(int queueSize) => (ulong)(VirtqDesc.Size * queueSize);
}
