using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Testing;

/// <summary>
/// The device half alone. The real driver fills the ring with <see cref="ChainsPerLap"/> chains
/// once; afterwards each lap only makes the same chains available again, the way the driver left
/// them, and the device pops, walks and completes all of them (publishing every
/// <see cref="Batch"/>). Refilling costs one index store per lap on a split ring (the avail ring
/// is pre-filled for every lap position and the descriptor table never changes) and a copy of the
/// recorded descriptor ring per lap on a packed ring (16 bytes per ring slot), because the device
/// overwrites the descriptors with used elements and the wrap counter flips every lap.
/// </summary>
public sealed unsafe class DeviceLapWorkload : IDisposable
{
    public const int ChainsPerLap = 64;

    private const int SplitQueueSize = 256;

    private readonly QueueHarness _harness;
    private readonly ushort* _availIdx;
    private readonly byte* _ring;
    private readonly byte[][] _ringImages = [];
    private ushort _publishedAvail;
    private int _lap;

    private DeviceLapWorkload(QueueHarness harness, bool packed, int batch)
    {
        _harness = harness;
        Batch = batch;
        var memory = harness.Memory;
        var config = harness.Config;
        if (packed)
        {
            var ringBytes = PackedRingLayout.DescriptorRingSize(config.Size);
            _ring = Pointer(memory, config.DescriptorTable, ringBytes);
            _ringImages = [new byte[ringBytes], new byte[ringBytes]];
        }
        else
        {
            var avail = Pointer(memory, config.DriverArea, VirtqAvail.TotalSize(config.Size));
            _availIdx = (ushort*)(avail + VirtqAvail.IdxOffset);
        }
    }

    public int Batch { get; }

    public static DeviceLapWorkload Create(bool packed, ChainShape shape, int batch = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        if (ChainsPerLap % batch != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), $"The batch must divide {ChainsPerLap}.");
        }

        var slots = shape == ChainShape.Indirect ? 1 : RoundTripWorkload.ChainLength(shape);
        var harness = QueueHarness.Create(packed, packed ? ChainsPerLap * slots : SplitQueueSize);
        var workload = new DeviceLapWorkload(harness, packed, batch);
        try
        {
            workload.Prepare(RoundTripWorkload.ChainBuffers(shape, harness.DataBase), shape == ChainShape.Indirect);
            return workload;
        }
        catch
        {
            workload.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="laps"/> laps of <see cref="ChainsPerLap"/> chains; returns the bytes the device was offered.</summary>
    public long RunLaps(int laps)
    {
        long bytes = 0;
        for (var lap = 0; lap < laps; lap++)
        {
            Refill();
            bytes += DrainLap();
        }

        return bytes;
    }

    public void Dispose() => _harness.Dispose();

    /// <summary>
    /// Lets the driver place one lap of chains (two on a packed ring, one per wrap counter value,
    /// recording the ring each time) and the device consume them, so the next lap starts fresh.
    /// </summary>
    private void Prepare(DriverBuffer[] buffers, bool indirect)
    {
        var driver = _harness.Driver;
        var laps = _ringImages.Length == 0 ? 1 : 2;
        for (var lap = 0; lap < laps; lap++)
        {
            for (var i = 0; i < ChainsPerLap; i++)
            {
                if (!driver.TryAdd(buffers, indirect, out _))
                {
                    RoundTripWorkload.FailAdd();
                }
            }

            driver.PublishAvail();
            if (_ringImages.Length != 0)
            {
                new ReadOnlySpan<byte>(_ring, _ringImages[lap].Length).CopyTo(_ringImages[lap]);
            }

            _ = DrainLap();
            for (var i = 0; i < ChainsPerLap; i++)
            {
                if (!driver.TryTakeUsed(out _, out _))
                {
                    RoundTripWorkload.FailTake(driver);
                }
            }
        }

        if (_ringImages.Length == 0)
        {
            // Every lap position of the avail ring names the same heads as the first lap.
            var ring = (ushort*)((byte*)_availIdx - VirtqAvail.IdxOffset + VirtqAvail.RingOffset);
            for (var i = ChainsPerLap; i < SplitQueueSize; i++)
            {
                ring[i] = ring[i % ChainsPerLap];
            }

            _publishedAvail = ChainsPerLap;
        }
    }

    private void Refill()
    {
        if (_ringImages.Length == 0)
        {
            _publishedAvail = unchecked((ushort)(_publishedAvail + ChainsPerLap));
            Volatile.Write(ref *_availIdx, LittleEndian.FromHost(_publishedAvail));
        }
        else
        {
            var image = _ringImages[_lap & 1];
            image.AsSpan().CopyTo(new Span<byte>(_ring, image.Length));
            _lap++;
        }
    }

    private long DrainLap()
    {
        var device = _harness.Device;
        var batch = Batch;
        long bytes = 0;
        for (var done = 0; done < ChainsPerLap; done += batch)
        {
            for (var i = 0; i < batch; i++)
            {
                if (!device.TryPop(out var chain))
                {
                    RoundTripWorkload.FailPop(device);
                }

                while (chain.TryGetNext(out var buffer))
                {
                    bytes += buffer.Length;
                }

                if (chain.Error != QueueError.None)
                {
                    RoundTripWorkload.FailWalk(chain.Error);
                }

                device.AddUsed(chain.Head, chain.WritableBytes);
            }

            device.PublishUsed();
        }

        return bytes;
    }

    private static byte* Pointer(GuestMemory memory, ulong address, ulong length) =>
        memory.TryGetPointer(address, length, out var host) == MemoryFault.None
            ? host
            : throw new InvalidOperationException($"0x{address:x}+{length} is not in one region.");
}
