using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Testing;

/// <summary>The chains the workloads send: how many buffers and whether through an indirect table.</summary>
public enum ChainShape
{
    /// <summary>One device-writable 4 KiB buffer (a receive buffer).</summary>
    OneBuffer,

    /// <summary>A 16-byte device-readable header and a 4 KiB device-writable buffer.</summary>
    TwoBuffers,

    /// <summary>A 16-byte header, 4 KiB of data to read and a 1-byte writable status (a block request).</summary>
    ThreeBuffers,

    /// <summary>The three buffers of <see cref="ThreeBuffers"/> through an indirect table.</summary>
    Indirect,
}

/// <summary>
/// Round trips through a <see cref="QueueHarness"/> with both halves in one thread: per round the
/// driver adds <see cref="Batch"/> chains and publishes once, the device pops each, walks it and
/// adds it used, publishes once, and the driver takes them all back. Shared by the benchmarks and
/// the allocation-budget test so both measure the same code.
/// </summary>
public sealed class RoundTripWorkload : IDisposable
{
    private readonly QueueHarness _harness;
    private readonly DriverBuffer[] _buffers;
    private readonly bool _indirect;
    private readonly bool _notify;

    private RoundTripWorkload(QueueHarness harness, ChainShape shape, int batch, bool notify)
    {
        _harness = harness;
        _buffers = ChainBuffers(shape, harness.DataBase);
        _indirect = shape == ChainShape.Indirect;
        _notify = notify;
        Batch = batch;
    }

    public int Batch { get; }

    /// <summary>
    /// A workload on a <paramref name="queueSize"/>-entry ring. With <paramref name="notify"/>, every
    /// publish is followed by the other side's check (NeedsKick, NeedsInterrupt) and its barrier.
    /// </summary>
    public static RoundTripWorkload Create(bool packed, ChainShape shape, int batch = 1, bool notify = false, int queueSize = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var slots = shape == ChainShape.Indirect ? 1 : ChainLength(shape);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batch * slots, queueSize, nameof(batch));
        return new RoundTripWorkload(QueueHarness.Create(packed, queueSize), shape, batch, notify);
    }

    /// <summary>Runs <paramref name="rounds"/> rounds (<see cref="Batch"/> chains each); returns the bytes the device was offered and wrote, so no work can be dropped.</summary>
    public long Run(int rounds)
    {
        var device = _harness.Device;
        var driver = _harness.Driver;
        ReadOnlySpan<DriverBuffer> buffers = _buffers;
        var indirect = _indirect;
        var batch = Batch;
        long bytes = 0;
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < batch; i++)
            {
                if (!driver.TryAdd(buffers, indirect, out _))
                {
                    FailAdd();
                }
            }

            driver.PublishAvail();
            if (_notify)
            {
                _ = driver.NeedsKick();
            }

            for (var i = 0; i < batch; i++)
            {
                if (!device.TryPop(out var chain))
                {
                    FailPop(device);
                }

                while (chain.TryGetNext(out var buffer))
                {
                    bytes += buffer.Length;
                }

                if (chain.Error != QueueError.None)
                {
                    FailWalk(chain.Error);
                }

                device.AddUsed(chain.Head, chain.WritableBytes);
            }

            device.PublishUsed();
            if (_notify)
            {
                _ = device.NeedsInterrupt();
            }

            for (var i = 0; i < batch; i++)
            {
                if (!driver.TryTakeUsed(out _, out var written))
                {
                    FailTake(driver);
                }

                bytes += written;
            }
        }

        return bytes;
    }

    public void Dispose() => _harness.Dispose();

    /// <summary>Buffers of one chain of <paramref name="shape"/> in a data area at <paramref name="dataBase"/> (at least 12 KiB).</summary>
    public static DriverBuffer[] ChainBuffers(ChainShape shape, ulong dataBase) => shape switch
    {
        ChainShape.OneBuffer => [new(dataBase, 4096, IsWritable: true)],
        ChainShape.TwoBuffers => [new(dataBase, 16, IsWritable: false), new(dataBase + 4096, 4096, IsWritable: true)],
        ChainShape.ThreeBuffers or ChainShape.Indirect =>
            [new(dataBase, 16, IsWritable: false), new(dataBase + 4096, 4096, IsWritable: false), new(dataBase + 8192, 1, IsWritable: true)],
        _ => throw new ArgumentOutOfRangeException(nameof(shape)),
    };

    /// <summary>Buffers in a chain of <paramref name="shape"/>.</summary>
    public static int ChainLength(ChainShape shape) => shape switch
    {
        ChainShape.OneBuffer => 1,
        ChainShape.TwoBuffers => 2,
        _ => 3,
    };

    // The failures are formatted out of line so the measured loop stays small.
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void FailAdd() => throw new InvalidOperationException("The driver found no room for a chain.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void FailPop(DeviceQueue device) => throw new InvalidOperationException($"The device found no chain ({device.Fault}).");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void FailWalk(QueueError error) => throw new InvalidOperationException($"The chain failed: {error}.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void FailTake(DriverQueue driver) => throw new InvalidOperationException($"The driver got no used chain back ({driver.Fault}).");
}
