using IoVirt.Abi.Virtio;

namespace IoVirt.Virtqueue.Driver;

/// <summary>Places a queue's parts in guest memory from a base address, as a driver allocates them.</summary>
public static class RingLayout
{
    /// <summary>Split: descriptor table, then available ring, then the used ring at the next 4 KiB boundary (the legacy layout, valid for any alignment rule).</summary>
    public static QueueConfig Split(ulong baseAddress, int size, bool eventIdx = false, bool indirect = false)
    {
        var avail = baseAddress + SplitRingLayout.DescriptorTableSize(size);
        var used = AlignUp(avail + VirtqAvail.TotalSize(size), 4096);
        return new QueueConfig(size, baseAddress, avail, used, eventIdx, indirect);
    }

    /// <summary>Bytes <see cref="Split"/> uses from its base address.</summary>
    public static ulong SplitBytes(int size) =>
        AlignUp(SplitRingLayout.DescriptorTableSize(size) + VirtqAvail.TotalSize(size), 4096) + VirtqUsed.TotalSize(size);

    /// <summary>Packed: descriptor ring, then driver and device event suppression structures.</summary>
    public static QueueConfig Packed(ulong baseAddress, int size, bool eventIdx = false, bool indirect = false)
    {
        var driverEvent = baseAddress + PackedRingLayout.DescriptorRingSize(size);
        return new QueueConfig(size, baseAddress, driverEvent, driverEvent + PackedEventSuppression.Size, eventIdx, indirect);
    }

    /// <summary>Bytes <see cref="Packed"/> uses from its base address.</summary>
    public static ulong PackedBytes(int size) => PackedRingLayout.DescriptorRingSize(size) + (2 * PackedEventSuppression.Size);

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}
