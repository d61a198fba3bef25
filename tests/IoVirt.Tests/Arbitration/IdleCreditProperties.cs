using FsCheck;
using FsCheck.Fluent;
using IoVirt.Arbitration;

namespace IoVirt.Tests.Arbitration;

/// <summary>
/// The scheduler's idle credit: a tenant back from idle, below its share, may run a bounded burst
/// ahead of a backlogged tenant, and never more than that bound.
/// </summary>
public class IdleCreditProperties
{
    private const double Cost = 1e6;

    /// <summary>(weights of the backlogged and the returning tenant, credit in costs, the returning tenant's bursts as (size, cost seeds)).</summary>
    private static readonly Arbitrary<(int W0, int W1, int Credit, int Seed, (int Gap, int Size)[] Bursts)> Cases =
        (from w0 in Gen.Choose(1, 8)
         from w1 in Gen.Choose(1, 8)
         from credit in Gen.Choose(0, 20)
         from seed in Gen.Choose(0, int.MaxValue)
         from bursts in Gen.ArrayOf(from gap in Gen.Choose(0, 30) from size in Gen.Choose(1, 6) select (gap, size))
         select (w0, w1, credit, seed, bursts)).ToArbitrary();

    [Theory]
    [InlineData(0, 1)]
    [InlineData(3, 4)]
    [InlineData(10, 11)]
    public void A_tenant_back_from_idle_runs_its_credit_and_one_request_before_a_backlogged_ones_next(int creditInCosts, int expectedRun)
    {
        var scheduler = new MClockScheduler(1e9, creditInCosts * Cost);
        scheduler.AddTenant(new TenantSpec(0, 1, 0));
        scheduler.AddTenant(new TenantSpec(0, 1, 0));
        for (var i = 0; i < 4; i++)
        {
            scheduler.Enqueue(0, Cost, 0, 0);
        }

        // The backlogged tenant runs alone for a while, then the other comes with a long burst.
        for (var i = 0; i < 100; i++)
        {
            Assert.True(scheduler.TryDequeue(i, out var served, out _));
            Assert.Equal(0, served.Tenant);
            scheduler.Enqueue(0, Cost, 0, i);
        }

        for (var i = 0; i < 20; i++)
        {
            scheduler.Enqueue(1, Cost, 1, 100);
        }

        var run = 0;
        while (scheduler.TryDequeue(100, out var served, out _) && served.Tenant == 1)
        {
            run++;
        }

        Assert.Equal(expectedRun, run);
    }

    [Fact]
    public void A_tenant_that_kept_its_share_gets_no_burst_from_the_credit()
    {
        var scheduler = new MClockScheduler(1e9, 10 * Cost);
        scheduler.AddTenant(new TenantSpec(0, 1, 0));
        scheduler.AddTenant(new TenantSpec(0, 1, 0));
        scheduler.Enqueue(0, Cost, 0, 0);
        scheduler.Enqueue(0, Cost, 0, 0);

        // Both busy, taking turns; then tenant 1 pauses for one of tenant 0's requests and returns
        // with a burst: it is behind by no more than that request, so that is all it may catch up.
        scheduler.Enqueue(1, Cost, 1, 0);
        for (var i = 0; i < 50; i++)
        {
            Assert.True(scheduler.TryDequeue(i, out var served, out _));
            scheduler.Enqueue(served.Tenant, Cost, served.Tenant, i, continued: true);
        }

        scheduler.Cancel(1, _ => true);
        Assert.True(scheduler.TryDequeue(50, out var alone, out _));
        Assert.Equal(0, alone.Tenant);
        scheduler.Enqueue(0, Cost, 0, 50);
        for (var i = 0; i < 10; i++)
        {
            scheduler.Enqueue(1, Cost, 1, 51);
        }

        var run = 0;
        while (scheduler.TryDequeue(51, out var served, out _) && served.Tenant == 1)
        {
            run++;
        }

        Assert.InRange(run, 1, 2);
    }

    /// <summary>
    /// Between two dispatches of a backlogged tenant 0, tenant 1 (idle, then bursts, any number of
    /// times) gets at most its weighted share of tenant 0's request, plus the credit, plus one
    /// request of its own: with costs of 1 to 10 units, whatever the weights and the credit.
    /// </summary>
    [Fact]
    public void No_tenant_runs_past_its_share_plus_the_credit_ahead_of_a_backlogged_one()
    {
        var property = Prop.ForAll(Cases, @case =>
        {
            var credit = @case.Credit * Cost;
            var scheduler = new MClockScheduler(1e9, credit);
            scheduler.AddTenant(new TenantSpec(0, @case.W0, 0));
            scheduler.AddTenant(new TenantSpec(0, @case.W1, 0));
            var random = new Random(@case.Seed);
            double NextCost() => Cost * random.Next(1, 11);
            for (var i = 0; i < 3; i++)
            {
                scheduler.Enqueue(0, NextCost(), 0, 0);
            }

            long now = 0;
            double servedToOne = 0;
            foreach (var (gap, size) in @case.Bursts)
            {
                for (var step = 0; step <= gap || scheduler.Queued > 3; step++)
                {
                    Assert.True(scheduler.TryDequeue(now++, out var served, out _));
                    if (served.Tenant == 0)
                    {
                        var bound = (@case.W1 * served.Cost / @case.W0) + credit + (10 * Cost);
                        Assert.True(servedToOne <= bound * (1 + 1e-9), $"tenant 1 ran {servedToOne / Cost} units between two of tenant 0's (bound {bound / Cost})");
                        servedToOne = 0;
                        scheduler.Enqueue(0, NextCost(), 0, now);
                    }
                    else
                    {
                        servedToOne += served.Cost;
                    }
                }

                for (var i = 0; i < size; i++)
                {
                    scheduler.Enqueue(1, NextCost(), 1, now);
                }
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }
}
