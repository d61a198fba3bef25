using BenchmarkDotNet.Attributes;
using IoVirt.Testing;

namespace IoVirt.Benchmarks;

public enum RingFormat
{
    Split,
    Packed,
}

/// <summary>
/// One benchmark method per chain shape (so <c>--filter '*.OneBuffer'</c> picks the one-buffer
/// cases), for both ring formats and batches of 1 and 32. Every invocation moves
/// <see cref="Chains"/> chains and BenchmarkDotNet divides by that, so the figures are per chain.
/// </summary>
[MemoryDiagnoser]
public abstract class ChainBenchmarks : IDisposable
{
    /// <summary>Chains per invocation: a multiple of every batch size and of a device lap.</summary>
    public const int Chains = 1024;

    private IDisposable? _workload;

    [Params(RingFormat.Split, RingFormat.Packed)]
    public RingFormat Ring { get; set; }

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup(Target = nameof(OneBuffer))]
    public void SetupOneBuffer() => _workload = Start(ChainShape.OneBuffer);

    [GlobalSetup(Target = nameof(TwoBuffers))]
    public void SetupTwoBuffers() => _workload = Start(ChainShape.TwoBuffers);

    [GlobalSetup(Target = nameof(ThreeBuffers))]
    public void SetupThreeBuffers() => _workload = Start(ChainShape.ThreeBuffers);

    [GlobalSetup(Target = nameof(Indirect))]
    public void SetupIndirect() => _workload = Start(ChainShape.Indirect);

    [GlobalCleanup]
    public void Dispose()
    {
        _workload?.Dispose();
        _workload = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>One device-writable buffer.</summary>
    [Benchmark(OperationsPerInvoke = Chains)]
    public long OneBuffer() => Run(Chains);

    /// <summary>A readable header and a writable buffer.</summary>
    [Benchmark(OperationsPerInvoke = Chains)]
    public long TwoBuffers() => Run(Chains);

    /// <summary>Header, data, status: three descriptors in the ring.</summary>
    [Benchmark(OperationsPerInvoke = Chains)]
    public long ThreeBuffers() => Run(Chains);

    /// <summary>The same three buffers through an indirect table.</summary>
    [Benchmark(OperationsPerInvoke = Chains)]
    public long Indirect() => Run(Chains);

    /// <summary>Creates the workload for <paramref name="shape"/> with <see cref="Ring"/> and <see cref="Batch"/>.</summary>
    protected abstract IDisposable Start(ChainShape shape);

    /// <summary>Moves <paramref name="chains"/> chains through the workload <see cref="Start"/> made.</summary>
    protected abstract long Run(int chains);
}

/// <summary>
/// Whole round trips, both halves in one thread (<see cref="RoundTripWorkload"/>): the driver adds
/// and publishes, the device pops, walks, adds used and publishes, the driver takes the chains
/// back. With a batch of 32 the publishes are shared by 32 chains.
/// </summary>
public class RoundTripBenchmarks : ChainBenchmarks
{
    private RoundTripWorkload? _workload;

    protected override IDisposable Start(ChainShape shape) =>
        _workload = RoundTripWorkload.Create(Ring == RingFormat.Packed, shape, Batch);

    protected override long Run(int chains) => _workload!.Run(chains / Batch);
}

/// <summary>
/// The device half alone (<see cref="DeviceLapWorkload"/>): pop, walk, add used, publish every
/// batch, over a ring the driver filled once and that is made available again each lap of 64
/// chains (one index store on a split ring, a copy of the recorded descriptor ring on a packed one).
/// </summary>
public class DeviceOnlyBenchmarks : ChainBenchmarks
{
    private DeviceLapWorkload? _workload;

    protected override IDisposable Start(ChainShape shape) =>
        _workload = DeviceLapWorkload.Create(Ring == RingFormat.Packed, shape, Batch);

    protected override long Run(int chains) => _workload!.RunLaps(chains / DeviceLapWorkload.ChainsPerLap);
}

/// <summary>
/// One-buffer round trips that also ask whether to notify after each publish (NeedsKick,
/// NeedsInterrupt), each of which issues a full memory barrier: what a real queue pays per batch.
/// </summary>
[MemoryDiagnoser]
public class NotifyingRoundTripBenchmarks : IDisposable
{
    private RoundTripWorkload? _workload;

    [Params(RingFormat.Split, RingFormat.Packed)]
    public RingFormat Ring { get; set; }

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup() => _workload = RoundTripWorkload.Create(Ring == RingFormat.Packed, ChainShape.OneBuffer, Batch, notify: true);

    [GlobalCleanup]
    public void Dispose()
    {
        _workload?.Dispose();
        _workload = null;
        GC.SuppressFinalize(this);
    }

    [Benchmark(OperationsPerInvoke = ChainBenchmarks.Chains)]
    public long OneBufferWithNotify() => _workload!.Run(ChainBenchmarks.Chains / Batch);
}
