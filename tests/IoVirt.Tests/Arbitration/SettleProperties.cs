using FsCheck;
using FsCheck.Fluent;
using IoVirt.Arbitration;

namespace IoVirt.Tests.Arbitration;

/// <summary>
/// A device whose requests' costs are known only after they ran (a GPU's turns): queued at any
/// estimate and settled at their real cost, backlogged tenants' shares of the device's time
/// follow their weights, however wrong the estimates were.
/// </summary>
public class SettleProperties
{
    private static readonly Arbitrary<(int[] Weights, int[] Seeds)> Tenants =
        (from count in Gen.Choose(2, 4)
         from weights in Gen.ArrayOf(Gen.Choose(1, 8), count)
         from seeds in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), count)
         select (weights, seeds)).ToArbitrary();

    [Fact]
    public void Settled_costs_give_backlogged_tenants_time_in_proportion_to_their_weights()
    {
        var property = Prop.ForAll(Tenants, tenants =>
        {
            var time = Simulate(tenants.Weights, tenants.Seeds, settle: true);
            var total = time.Sum();
            var weightSum = tenants.Weights.Sum();
            for (var i = 0; i < time.Length; i++)
            {
                var expected = (double)tenants.Weights[i] / weightSum;
                Assert.InRange(time[i] / total / expected, 0.95, 1.05);
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100).WithQuietOnSuccess(true), property);
    }

    /// <summary>The same device without settling: the shares follow the estimates instead, so the property above depends on it.</summary>
    [Fact]
    public void Without_settling_wrong_estimates_skew_the_shares()
    {
        var time = Simulate([1, 1], [1, 2], settle: false, meanCosts: [8e6, 1e6]);
        Assert.True(time[0] / time[1] > 4, $"tenant 0 got {time[0] / time[1]:F2}x tenant 1's time");
    }

    /// <summary>
    /// One device, one request at a time, every tenant always with one waiting (re-queued as its
    /// last one ends, as a GPU process asks for its next turn). Tenant i's requests cost around a
    /// mean of its own (0.2 to 10 ms, drawn from its seed) and are queued at a guess that knows
    /// nothing of it. Returns each tenant's device time.
    /// </summary>
    private static double[] Simulate(int[] weights, int[] seeds, bool settle, double[]? meanCosts = null)
    {
        var scheduler = new MClockScheduler(1e9);
        var random = seeds.Select(seed => new Random(seed)).ToArray();
        var means = meanCosts ?? random.Select(r => 0.2e6 + (r.NextDouble() * 9.8e6)).ToArray();
        var time = new double[weights.Length];
        long now = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            scheduler.AddTenant(new TenantSpec(0, weights[i], 0));
            scheduler.Enqueue(i, Guess(random[i]), i, now);
        }

        while (time.Sum() < 20e9)
        {
            Assert.True(scheduler.TryDequeue(now, out var turn, out _));
            var r = random[turn.Tenant];
            var actual = means[turn.Tenant] * (0.5 + r.NextDouble());
            now += (long)actual;
            time[turn.Tenant] += actual;
            if (settle)
            {
                scheduler.Settle(turn, actual);
            }

            scheduler.Enqueue(turn.Tenant, Guess(r), turn.Tenant, now, continued: true);
        }

        return time;
    }

    /// <summary>An estimate from 0.1 to 10 ms, whatever the request will really cost.</summary>
    private static double Guess(Random random) => 0.1e6 * Math.Pow(100, random.NextDouble());
}
