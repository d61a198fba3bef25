using IoVirt.Arbitration;
using IoVirt.Testing.Simulation;

namespace IoVirt.Tests.Arbitration;

/// <summary>
/// The fairness targets, on the deterministic simulation: one-second windows of a
/// synthetic 4-channel device (capacity 4·10⁹ cost units/s), every tenant backlogged unless said.
/// The first window is left out: queues are still filling.
/// </summary>
public class FairnessSimulationTests
{
    private const double Capacity = 4e9;
    private static readonly SyntheticDevice Device = new(Channels: 4);

    [Fact]
    public void Eight_equal_tenants_get_equal_service_every_second()
    {
        var tenants = Enumerable.Range(0, 8)
            .Select(i => new SimulatedTenant($"t{i}", new TenantSpec(0, 1, 0), Cost: 10_000 + (i * 7_000), Depth: 16))
            .ToArray();
        var result = Simulation.Run(Device, tenants, seconds: 10);
        var all = Enumerable.Range(0, 8).ToArray();
        for (var w = 1; w < result.Windows; w++)
        {
            Assert.True(result.JainIndex(w, all) >= 0.99, $"window {w}: Jain {result.JainIndex(w, all):F4}");
            Assert.True(result.ServedPerWindow[w].Sum() >= 0.98 * Capacity, $"window {w}: the device idled (work conservation)");
        }
    }

    [Fact]
    public void Weights_one_two_four_get_shares_within_five_percent()
    {
        var tenants = new[] { 1.0, 2, 4 }
            .Select((w, i) => new SimulatedTenant($"w{w}", new TenantSpec(0, w, 0), Cost: 25_000, Depth: 32))
            .ToArray();
        var result = Simulation.Run(Device, tenants, seconds: 10);
        for (var w = 1; w < result.Windows; w++)
        {
            for (var t = 0; t < 3; t++)
            {
                var expected = tenants[t].Spec.Weight / 7;
                Assert.InRange(result.Share(w, t), expected * 0.95, expected * 1.05);
            }
        }
    }

    [Fact]
    public void Reservations_summing_to_ninety_percent_hold_even_when_capacity_halves()
    {
        // 90% of the halved capacity is reserved; a heavy tenant with a huge weight competes for the rest.
        var halved = Capacity / 2;
        var tenants = new[]
        {
            new SimulatedTenant("r20", new TenantSpec(0.20 * halved, 1, 0), Cost: 20_000, Depth: 8),
            new SimulatedTenant("r30", new TenantSpec(0.30 * halved, 1, 0), Cost: 50_000, Depth: 8),
            new SimulatedTenant("r40", new TenantSpec(0.40 * halved, 1, 0), Cost: 8_000, Depth: 8),
            new SimulatedTenant("greedy", new TenantSpec(0, 1000, 0), Cost: 100_000, Depth: 64),
        };
        var device = Device with { SpeedAt = second => second < 10 ? 1.0 : 0.5 };
        var result = Simulation.Run(device, tenants, seconds: 20);
        var windows = 0;
        var met = 0;
        for (var w = 1; w < result.Windows; w++)
        {
            if (w == 10)
            {
                continue; // the window in which the speed changes
            }

            for (var t = 0; t < 3; t++)
            {
                windows++;
                met += result.ServedPerWindow[w][t] >= 0.99 * tenants[t].Spec.Reservation ? 1 : 0;
            }

            Assert.True(result.ServedPerWindow[w].Sum() >= 0.97 * result.CapacityPerWindow[w], $"window {w}: capacity went unused");
        }

        Assert.True(met >= 0.99 * windows, $"reservations met in {met} of {windows} windows");
    }

    [Fact]
    public void A_limited_tenant_never_exceeds_its_limit_by_more_than_two_percent()
    {
        var tenants = new[]
        {
            new SimulatedTenant("limited", new TenantSpec(0, 10, 0.1 * Capacity), Cost: 30_000, Depth: 64),
            new SimulatedTenant("reserved-and-limited", new TenantSpec(0.05 * Capacity, 10, 0.15 * Capacity), Cost: 12_000, Depth: 64),
            new SimulatedTenant("free", new TenantSpec(0, 1, 0), Cost: 30_000, Depth: 64),
        };
        var result = Simulation.Run(Device, tenants, seconds: 10);
        for (var w = 0; w < result.Windows; w++)
        {
            Assert.True(result.ServedPerWindow[w][0] <= 1.02 * tenants[0].Spec.Limit, $"window {w}: {result.ServedPerWindow[w][0]:N0}");
            Assert.True(result.ServedPerWindow[w][1] <= 1.02 * tenants[1].Spec.Limit, $"window {w}: {result.ServedPerWindow[w][1]:N0}");
        }

        // The limited tenants leave their excess to the free one: the device stays busy.
        Assert.True(result.ServedPerWindow[5].Sum() >= 0.98 * Capacity);
    }

    [Fact]
    public void An_idle_tenant_returns_without_banked_or_lost_credit()
    {
        var tenants = new[]
        {
            new SimulatedTenant("steady-a", new TenantSpec(0, 1, 0), Cost: 20_000, Depth: 32),
            new SimulatedTenant("steady-b", new TenantSpec(0, 1, 0), Cost: 20_000, Depth: 32),
            new SimulatedTenant("returning", new TenantSpec(0, 1, 0), Cost: 20_000, Depth: 32) { ActiveFrom = 5 },
        };
        var result = Simulation.Run(Device, tenants, seconds: 8);
        Assert.Equal(0, result.ServedPerWindow[4][2]);

        // From its first second back it gets a third: not more (it banked nothing while idle), not less.
        for (var w = 5; w < 8; w++)
        {
            Assert.InRange(result.Share(w, 2), 0.33 * 0.97, 0.34 * 1.03);
        }
    }

    [Fact]
    public void Reservations_above_the_capacity_are_refused_with_a_clear_error()
    {
        var scheduler = new MClockScheduler(capacity: 1000);
        _ = scheduler.AddTenant(new TenantSpec(600, 1, 0));
        var error = Assert.Throws<AdmissionRefusedException>(() => scheduler.AddTenant(new TenantSpec(500, 1, 0)));
        Assert.Contains("does not fit", error.Message, StringComparison.Ordinal);
        _ = scheduler.AddTenant(new TenantSpec(400, 1, 0));
        Assert.Equal(1000, scheduler.ReservedTotal);
        Assert.Throws<ArgumentException>(() => scheduler.AddTenant(new TenantSpec(0, 1, 0) with { Limit = -1 }));
        Assert.Throws<ArgumentException>(() => scheduler.AddTenant(new TenantSpec(0, 0, 0)));
    }
}
