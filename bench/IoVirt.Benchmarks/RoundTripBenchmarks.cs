using BenchmarkDotNet.Attributes;
using IoVirt.Testing;

namespace IoVirt.Benchmarks;

public enum RingFormat
{
    Split,
    Packed,
}

/// <summary>
/// Whole round trips, both halves in one thread (<see cref="RoundTripWorkload"/>): the driver adds
/// and publishes, the device pops, walks, adds used and publishes, the driver takes the chains
/// back. One operation is one chain's round trip; with a batch of 32 the publishes are shared by
/// 32 chains.
/// </summary>
[MemoryDiagnoser]
public class RoundTripBenchmarks : IDisposable
{
    /// <summary>Chains per invocation (a multiple of every batch size).</summary>
    public const int Chains = 1024;

    private RoundTripWorkload? _workload;

    [Params(RingFormat.Split, RingFormat.Packed)]
    public RingFormat Ring { get; set; }

    [ParamsAllValues]
    public ChainShape Shape { get; set; }

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup() => _workload = RoundTripWorkload.Create(Ring == RingFormat.Packed, Shape, Batch);

    [GlobalCleanup]
    public void Dispose()
    {
        _workload?.Dispose();
        _workload = null;
        GC.SuppressFinalize(this);
    }

    [Benchmark(OperationsPerInvoke = Chains)]
    public long RoundTrip() => _workload!.Run(Chains / Batch);
}

/// <summary>
/// The device half alone (<see cref="DeviceLapWorkload"/>): pop, walk, add used, publish every
/// batch, over a ring the driver filled once and that is made available again each lap of 64
/// chains (one index store on a split ring, a copy of the recorded descriptor ring on a packed one).
/// One operation is one chain.
/// </summary>
[MemoryDiagnoser]
public class DeviceOnlyBenchmarks : IDisposable
{
    public const int Chains = 1024;

    private DeviceLapWorkload? _workload;

    [Params(RingFormat.Split, RingFormat.Packed)]
    public RingFormat Ring { get; set; }

    [ParamsAllValues]
    public ChainShape Shape { get; set; }

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup() => _workload = DeviceLapWorkload.Create(Ring == RingFormat.Packed, Shape, Batch);

    [GlobalCleanup]
    public void Dispose()
    {
        _workload?.Dispose();
        _workload = null;
        GC.SuppressFinalize(this);
    }

    [Benchmark(OperationsPerInvoke = Chains)]
    public long DeviceOnly() => _workload!.RunLaps(Chains / DeviceLapWorkload.ChainsPerLap);
}

/// <summary>
/// One-buffer round trips that also ask whether to notify after each publish (NeedsKick,
/// NeedsInterrupt), each of which issues a full memory barrier: what a real queue pays per batch.
/// </summary>
[MemoryDiagnoser]
public class NotifyingRoundTripBenchmarks : IDisposable
{
    public const int Chains = 1024;

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

    [Benchmark(OperationsPerInvoke = Chains)]
    public long RoundTripWithNotify() => _workload!.Run(Chains / Batch);
}
