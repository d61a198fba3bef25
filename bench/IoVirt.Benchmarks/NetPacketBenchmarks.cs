using BenchmarkDotNet.Attributes;
using IoVirt.Testing;

namespace IoVirt.Benchmarks;

/// <summary>
/// The network device's packet path per 64-byte frame (<see cref="NetPacketWorkload"/>): pop,
/// copy, check, hand to the port, complete, publish, with the driver's side in the same thread.
/// Transmit ends in a sink, Receive starts at a packet source, Echo is both (one packet each way).
/// </summary>
[MemoryDiagnoser]
public class NetPacketBenchmarks : IDisposable
{
    private const int Batches = 32;
    private NetPacketWorkload? _workload;

    [Params(NetPath.Transmit, NetPath.Receive, NetPath.Echo)]
    public NetPath Path { get; set; }

    [Params(false, true)]
    public bool Packed { get; set; }

    [GlobalSetup]
    public void Setup() => _workload = new NetPacketWorkload(Packed, Path);

    [Benchmark(OperationsPerInvoke = Batches * NetPacketWorkload.Batch)]
    public long Packet() => _workload!.Run(Batches);

    [GlobalCleanup]
    public void Dispose()
    {
        _workload?.Dispose();
        _workload = null;
        GC.SuppressFinalize(this);
    }
}
