using BenchmarkDotNet.Attributes;
using IoVirt.Testing;

namespace IoVirt.Benchmarks;

/// <summary>The mClock scheduler's cost per request (enqueue + dispatch) with 8 tenants (<see cref="SchedulerWorkload"/>).</summary>
[MemoryDiagnoser]
public class SchedulerBenchmarks
{
    private const int Requests = 1024;
    private readonly SchedulerWorkload _workload = new();

    [Benchmark(OperationsPerInvoke = Requests)]
    public long EnqueueAndDispatch() => _workload.Run(Requests);
}
