using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Testing;

/// <summary>
/// One guest memory region holding a queue's rings, its indirect tables and a data area, with the
/// device half and the driver half attached to the same rings. Tests, benchmarks and fuzzers
/// drive the device through the real driver implementation.
/// </summary>
public sealed class QueueHarness : IDisposable
{
    /// <summary>Guest address of the region; not zero, so address 0 is outside guest memory.</summary>
    public const ulong RegionBase = 0x10_0000;

    private readonly bool _packed;

    private QueueHarness(bool packed, GuestMemory memory, QueueConfig config, DeviceQueue device, DriverQueue driver, ulong dataBase, ulong dataBytes)
    {
        _packed = packed;
        Memory = memory;
        Config = config;
        Device = device;
        Driver = driver;
        DataBase = dataBase;
        DataBytes = dataBytes;
    }

    public GuestMemory Memory { get; }

    public QueueConfig Config { get; }

    public DeviceQueue Device { get; }

    public DriverQueue Driver { get; }

    /// <summary>Start of the area buffers may point into.</summary>
    public ulong DataBase { get; }

    public ulong DataBytes { get; }

    /// <summary>Guest address one past the region's end.</summary>
    public ulong RegionEnd => Memory.Regions[0].GuestEnd;

    public static QueueHarness Create(bool packed, int size, bool eventIdx = false, bool indirect = true, int indirectEntries = 16, ulong dataBytes = 1 << 20)
    {
        var ringBytes = packed ? RingLayout.PackedBytes(size) : RingLayout.SplitBytes(size);
        var indirectBase = AlignUp(RegionBase + ringBytes, 4096);
        var indirectBytes = indirect ? DriverQueue.IndirectBytes(size, indirectEntries) : 0;
        var dataBase = AlignUp(indirectBase + indirectBytes, 4096);
        var memory = new GuestMemory(GuestRegion.Allocate(RegionBase, dataBase + dataBytes - RegionBase));
        var config = packed
            ? RingLayout.Packed(RegionBase, size, eventIdx, indirect)
            : RingLayout.Split(RegionBase, size, eventIdx, indirect);
        var error = TryCreateDevice(packed, memory, config, out var device);
        if (error != QueueError.None)
        {
            memory.Dispose();
            throw new InvalidOperationException($"Harness queue rejected: {error}");
        }

        DriverQueue driver = packed
            ? new PackedDriverQueue(memory, config, indirectBase, indirect ? indirectEntries : 0)
            : new SplitDriverQueue(memory, config, indirectBase, indirect ? indirectEntries : 0);
        return new QueueHarness(packed, memory, config, device!, driver, dataBase, dataBytes);
    }

    /// <summary>
    /// A fresh device half of the same rings, at their start, resolved in <paramref name="memory"/>:
    /// another view of this region, such as one that logs the pages the device writes.
    /// </summary>
    public DeviceQueue DeviceIn(GuestMemory memory)
    {
        var error = TryCreateDevice(_packed, memory, Config, out var device);
        return error == QueueError.None ? device! : throw new InvalidOperationException($"Harness queue rejected: {error}");
    }

    private static QueueError TryCreateDevice(bool packed, GuestMemory memory, QueueConfig config, out DeviceQueue? device)
    {
        QueueError error;
        if (packed)
        {
            error = PackedQueue.TryCreate(memory, config, QueuePosition.Initial, out var packedQueue);
            device = packedQueue;
        }
        else
        {
            error = SplitQueue.TryCreate(memory, config, QueuePosition.Initial, out var splitQueue);
            device = splitQueue;
        }

        return error;
    }

    /// <summary>The ids of every used element the driver can take now, in the order it takes them.</summary>
    public List<ushort> TakeUsedIds()
    {
        var ids = new List<ushort>();
        while (Driver.TryTakeUsed(out var id, out _))
        {
            ids.Add(id);
        }

        return ids;
    }

    public void Dispose() => Memory.Dispose();

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}
