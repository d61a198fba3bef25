using BenchmarkDotNet.Attributes;
using IoVirt.Testing;

namespace IoVirt.Benchmarks;

/// <summary>
/// The device arbiter's cost on the data path (<see cref="ArbiterWorkload"/>): one client's
/// exchange, which hands in its completions and requests, dispatches and takes its grants, and
/// the completion and new request of every slot granted.
/// </summary>
[MemoryDiagnoser]
public class ArbiterBenchmarks : IDisposable
{
    private const int Rounds = 1024;
    private readonly ArbiterWorkload _workload = new();

    [Benchmark(OperationsPerInvoke = Rounds)]
    public long Exchange() => _workload.Run(Rounds);

    public void Dispose() => _workload.Dispose();
}
