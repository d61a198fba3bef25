using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk;
using IoVirt.Testing;

namespace IoVirt.Tests.Bench;

/// <summary>
/// The hot path's allocation budget is zero: the round trips the benchmarks measure
/// (<see cref="RoundTripWorkload"/>, <see cref="DeviceLapWorkload"/>) run 10,000 times after a
/// warm-up without the current thread allocating a single byte.
/// </summary>
public class AllocationBudgetTests
{
    private const int Rounds = 10_000;

    public static TheoryData<bool, ChainShape, int> Cases()
    {
        var cases = new TheoryData<bool, ChainShape, int>();
        foreach (var packed in new[] { false, true })
        {
            foreach (var shape in Enum.GetValues<ChainShape>())
            {
                cases.Add(packed, shape, 1);
                cases.Add(packed, shape, 32);
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Round_trips_allocate_nothing(bool packed, ChainShape shape, int batch)
    {
        using var workload = RoundTripWorkload.Create(packed, shape, batch);
        Allocations.AssertNone(() => workload.Run(Rounds / 10), () => workload.Run(Rounds));
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 32)]
    [InlineData(true, 1)]
    [InlineData(true, 32)]
    public void Round_trips_with_notification_checks_allocate_nothing(bool packed, int batch)
    {
        using var workload = RoundTripWorkload.Create(packed, ChainShape.OneBuffer, batch, notify: true);
        Allocations.AssertNone(() => workload.Run(Rounds / 10), () => workload.Run(Rounds));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Device_laps_allocate_nothing(bool packed, ChainShape shape, int batch)
    {
        using var workload = DeviceLapWorkload.Create(packed, shape, batch);
        var laps = Rounds / DeviceLapWorkload.ChainsPerLap;
        Allocations.AssertNone(() => workload.RunLaps(laps / 10), () => workload.RunLaps(laps));
    }

    [Theory]
    [InlineData(false, BlockEngineKind.Uring, VirtioBlkRequestType.In)]
    [InlineData(false, BlockEngineKind.Uring, VirtioBlkRequestType.Out)]
    [InlineData(true, BlockEngineKind.Uring, VirtioBlkRequestType.In)]
    [InlineData(false, BlockEngineKind.Sync, VirtioBlkRequestType.Out)]
    [InlineData(true, BlockEngineKind.Null, VirtioBlkRequestType.In)]
    [InlineData(false, BlockEngineKind.Mapped, VirtioBlkRequestType.Out)]
    public void Block_requests_allocate_nothing(bool packed, BlockEngineKind engine, VirtioBlkRequestType type)
    {
        using var workload = BlkRequestWorkload.Create(packed, engine, type);
        var batches = Rounds / BlkRequestWorkload.Batch;
        Allocations.AssertNone(() => workload.Run(batches / 10), () => workload.Run(batches));
    }

    [Theory]
    [InlineData(false, NetPath.Transmit)]
    [InlineData(false, NetPath.Receive)]
    [InlineData(false, NetPath.Echo)]
    [InlineData(true, NetPath.Echo)]
    public void Packets_allocate_nothing(bool packed, NetPath path)
    {
        using var workload = new NetPacketWorkload(packed, path);
        var batches = Rounds / NetPacketWorkload.Batch;
        Allocations.AssertNone(() => workload.Run(batches / 10), () => workload.Run(batches));
    }

    [Fact]
    public void Scheduling_a_request_allocates_nothing()
    {
        var workload = new SchedulerWorkload();
        Allocations.AssertNone(() => workload.Run(Rounds), () => workload.Run(Rounds * 10));
    }

    [Fact]
    public void Arbitrating_a_request_allocates_nothing()
    {
        using var workload = new ArbiterWorkload();
        Allocations.AssertNone(() => workload.Run(Rounds), () => workload.Run(Rounds * 10));
    }

    [Fact]
    public void Deficit_round_robin_allocates_nothing_per_frame()
    {
        var workload = new DeficitRoundRobinWorkload();
        Allocations.AssertNone(() => workload.Run(Rounds), () => workload.Run(Rounds * 10));
    }

    [Fact]
    public void Delivering_to_a_switch_port_and_taking_in_fair_order_allocates_nothing()
    {
        using var workload = new SwitchInboundWorkload();
        Allocations.AssertNone(() => workload.Run(Rounds / 10), () => workload.Run(Rounds));
    }
}
