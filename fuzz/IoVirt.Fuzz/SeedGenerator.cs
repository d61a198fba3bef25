using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Fuzz;

/// <summary>
/// Makes seed inputs from valid queue states: the real driver places chains into the same memory
/// map the target will build, the device (after some laps, to move the indices) is left where it
/// stands, and the header records its position. So the corpus is generated, never stored.
/// </summary>
public static class SeedGenerator
{
    private const int IndirectEntries = 4;

    /// <summary>
    /// One seed: the queue, how many one-buffer round trips to run first, and the chains left
    /// published (buffer counts; a negative count is an indirect chain of that many buffers).
    /// </summary>
    private sealed record Spec(
        string Name,
        int Size,
        FuzzFlags Flags,
        int Batch,
        int WarmLaps,
        int[] Chains,
        FuzzOptions Options = FuzzOptions.None,
        bool CrossRegions = false);

    private static readonly Spec[] Specs =
    [
        new("one-buffer", 8, FuzzFlags.None, 1, 0, [1]),
        new("three-chains", 16, FuzzFlags.None, 4, 0, [1, 2, 3]),
        new("indirect", 16, FuzzFlags.Indirect, 2, 3, [-3, 2, -1]),
        new("event-idx", 32, FuzzFlags.EventIdx | FuzzFlags.Indirect, 8, 21, [3, -2, 1, 1, 2]),
        new("full-ring", 64, FuzzFlags.None, 16, 5, [.. Enumerable.Repeat(1, 64)]),
        new("index-wrap", 4, FuzzFlags.EventIdx, 2, 65534, [1, 2]),
        new(
            "cross-region",
            8,
            FuzzFlags.Indirect | FuzzFlags.CustomRing | FuzzFlags.AdjacentRegion | FuzzFlags.HighRegion | FuzzFlags.WriteBuffers | FuzzFlags.UndoFirstPop,
            3,
            2,
            [2, -2, 1],
            FuzzOptions.ReverseCompletion | FuzzOptions.Rebind | FuzzOptions.DirtyLog,
            CrossRegions: true),
    ];

    /// <summary>The seeds of one target, by file name.</summary>
    public static IReadOnlyList<KeyValuePair<string, byte[]>> Generate(bool packed) =>
        [.. Specs.Select(spec => KeyValuePair.Create(spec.Name, Build(packed, spec)))];

    /// <summary>Writes the seeds of one target into <paramref name="directory"/> (created if missing).</summary>
    public static int Write(bool packed, string directory)
    {
        Directory.CreateDirectory(directory);
        var seeds = Generate(packed);
        foreach (var (name, data) in seeds)
        {
            File.WriteAllBytes(Path.Combine(directory, name), data);
        }

        return seeds.Count;
    }

    private static byte[] Build(bool packed, Spec spec)
    {
        var indirect = (spec.Flags & FuzzFlags.Indirect) != 0;
        var eventIdx = (spec.Flags & FuzzFlags.EventIdx) != 0;
        var indirectBase = FuzzLayout.AlignUp(FuzzLayout.RegionBase + FuzzLayout.RingBytes(packed, spec.Size), 16);
        var indirectBytes = indirect ? DriverQueue.IndirectBytes(spec.Size, IndirectEntries) : 0;
        var dataBase = FuzzLayout.AlignUp(indirectBase + indirectBytes, FuzzLayout.PageSize);
        var regionBytes = dataBase + (2 * FuzzLayout.PageSize) - FuzzLayout.RegionBase;
        var layout = FuzzLayout.Ring(packed, spec.Size, eventIdx, indirect);
        var header = new FuzzHeader(
            spec.Flags,
            FuzzHeader.SelectorFor(packed, spec.Size),
            0,
            0,
            checked((byte)((regionBytes / FuzzLayout.PageSize) - 1)),
            (byte)(spec.Batch - 1),
            (ushort)(layout.DescriptorTable - FuzzLayout.RingOffsetBase),
            (ushort)(layout.DriverArea - FuzzLayout.RingOffsetBase),
            (ushort)(layout.DeviceArea - FuzzLayout.RingOffsetBase),
            spec.Options,
            0xA5);

        using var space = FuzzMemory.Build(header, []);
        var memory = space.Memory;
        var config = header.Config(packed, spec.Size);
        DeviceQueue device;
        DriverQueue driver;
        if (packed)
        {
            Check(PackedQueue.TryCreate(memory, config, QueuePosition.Initial, out var queue));
            device = queue!;
            driver = new PackedDriverQueue(memory, config, indirectBase, indirect ? IndirectEntries : 0);
        }
        else
        {
            Check(SplitQueue.TryCreate(memory, config, QueuePosition.Initial, out var queue));
            device = queue!;
            driver = new SplitDriverQueue(memory, config, indirectBase, indirect ? IndirectEntries : 0);
        }

        var regionEnd = FuzzLayout.RegionBase + header.RegionBytes;
        for (var lap = 0; lap < spec.WarmLaps; lap++)
        {
            RoundTrip(device, driver, Buffers(dataBase, 1, crossAt: 0), eventIdx);
        }

        if (eventIdx)
        {
            _ = device.EnableNotifications();
            _ = driver.EnableInterrupts();
        }

        for (var i = 0; i < spec.Chains.Length; i++)
        {
            var count = Math.Abs(spec.Chains[i]);
            var crossAt = spec.CrossRegions && i == spec.Chains.Length - 1 ? regionEnd : 0;
            if (!driver.TryAdd(Buffers(dataBase, count, crossAt), spec.Chains[i] < 0, out _))
            {
                throw new InvalidOperationException($"Seed {spec.Name}: chain {i} does not fit the ring.");
            }
        }

        driver.PublishAvail();
        var (avail, used) = FuzzHeader.EncodePosition(packed, device.Position);
        header = header with { AvailPosition = avail, UsedPosition = used };

        // The image is the rings and indirect tables; the data area is zero in the target anyway.
        var image = new byte[dataBase - FuzzLayout.RegionBase];
        if (memory.Read(FuzzLayout.RegionBase, image) != IoVirt.Memory.MemoryFault.None)
        {
            throw new InvalidOperationException("The seed image is not guest memory.");
        }

        var length = image.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
        var seed = new byte[FuzzHeader.Size + length];
        header.Write(seed);
        image.AsSpan(0, length).CopyTo(seed.AsSpan(FuzzHeader.Size));
        return seed;
    }

    /// <summary>
    /// A chain's buffers in the data area: readable ones, then one writable buffer. With
    /// <paramref name="crossAt"/>, the last buffer straddles that address (a region boundary).
    /// </summary>
    private static DriverBuffer[] Buffers(ulong dataBase, int count, ulong crossAt)
    {
        var buffers = new DriverBuffer[count];
        for (var i = 0; i < count; i++)
        {
            var last = i == count - 1;
            buffers[i] = last && crossAt != 0
                ? new DriverBuffer(crossAt - 100, 200, IsWritable: true)
                : new DriverBuffer(dataBase + ((ulong)i * 1024), (uint)(64 * (i + 1)), IsWritable: last);
        }

        return buffers;
    }

    private static void RoundTrip(DeviceQueue device, DriverQueue driver, DriverBuffer[] buffers, bool eventIdx)
    {
        if (!driver.TryAdd(buffers, indirect: false, out _))
        {
            throw new InvalidOperationException("Warm-up chain does not fit.");
        }

        driver.PublishAvail();
        if (!device.TryPop(out var chain))
        {
            throw new InvalidOperationException($"Warm-up chain was not popped ({device.Fault}).");
        }

        while (chain.TryGetNext(out _))
        {
        }

        device.AddUsed(chain.Head, chain.WritableBytes);
        device.PublishUsed();
        if (!driver.TryTakeUsed(out _, out _))
        {
            throw new InvalidOperationException($"Warm-up chain did not come back ({driver.Fault}).");
        }

        if (eventIdx)
        {
            _ = device.EnableNotifications();
            _ = driver.EnableInterrupts();
        }
    }

    private static void Check(QueueError error)
    {
        if (error != QueueError.None)
        {
            throw new InvalidOperationException($"Seed queue rejected: {error}.");
        }
    }
}
