using BenchmarkDotNet.Attributes;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk;
using IoVirt.Testing;

namespace IoVirt.Benchmarks;

/// <summary>
/// The block device's request path per 4 KiB request (<see cref="BlkRequestWorkload"/>): pop,
/// parse, hand to the engine, complete, publish, with the driver's side in the same thread.
/// Null isolates the device's own cost; Mapped adds the copy; Uring and Sync go through the kernel to a RAM disk.
/// </summary>
[MemoryDiagnoser]
public class BlkRequestBenchmarks : IDisposable
{
    private const int Batches = 32;
    private BlkRequestWorkload? _workload;

    [Params(BlockEngineKind.Null, BlockEngineKind.Mapped, BlockEngineKind.Uring, BlockEngineKind.Sync)]
    public BlockEngineKind Engine { get; set; }

    [Params(VirtioBlkRequestType.In, VirtioBlkRequestType.Out)]
    public VirtioBlkRequestType Type { get; set; }

    [GlobalSetup]
    public void Setup() => _workload = BlkRequestWorkload.Create(packed: false, Engine, Type);

    [Benchmark(OperationsPerInvoke = Batches * BlkRequestWorkload.Batch)]
    public long Request() => _workload!.Run(Batches);

    [GlobalCleanup]
    public void Dispose()
    {
        _workload?.Dispose();
        _workload = null;
        GC.SuppressFinalize(this);
    }
}
