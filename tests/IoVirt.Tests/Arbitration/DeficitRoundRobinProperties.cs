using FsCheck;
using FsCheck.Fluent;
using IoVirt.Arbitration;

namespace IoVirt.Tests.Arbitration;

/// <summary>Deficit round robin over random weights, item costs and arrival orders.</summary>
public class DeficitRoundRobinProperties
{
    private const double Quantum = 1000;

    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(200).WithQuietOnSuccess(true);

    private static readonly Arbitrary<int> Seeds = Gen.Choose(0, int.MaxValue).ToArbitrary();

    /// <summary>Two to six flows, each a weight of 1 to 8 and a cost range within one quantum.</summary>
    private static readonly Arbitrary<(int Weight, int MinCost, int MaxCost)[]> Flows =
        Gen.ArrayOf(
            from weight in Gen.Choose(1, 8)
            from low in Gen.Choose(20, 1000)
            from high in Gen.Choose(low, 1000)
            select (weight, low, high))
        .Where(flows => flows.Length is >= 2 and <= 6)
        .ToArbitrary();

    [Fact]
    public void Backlogged_flows_are_served_cost_in_proportion_to_their_weights()
    {
        var property = Prop.ForAll(Flows, Seeds, (flows, seed) =>
        {
            var random = new Random(seed);
            var drr = new DeficitRoundRobin(Quantum);
            var ids = flows.Select(_ => drr.AddFlow(_.Weight, capacity: 4)).ToArray();
            var costs = new Dictionary<long, double>();
            var next = 0L;
            void Refill(int flow)
            {
                var (_, low, high) = flows[flow];
                var cost = random.Next(low, high + 1);
                costs[next] = cost;
                Assert.True(drr.TryEnqueue(ids[flow], cost, next++));
            }

            for (var f = 0; f < flows.Length; f++)
            {
                for (var i = 0; i < 4; i++)
                {
                    Refill(f);
                }
            }

            // 400 rounds: each flow's error is at most about one turn's quantum, so under 1 %.
            var totalWeight = flows.Sum(f => f.Weight);
            var served = new double[flows.Length];
            while (served.Sum() < 400 * Quantum * totalWeight)
            {
                Assert.True(drr.TryDequeue(out var flow, out var token));
                served[flow] += costs[token];
                Refill(flow);
            }

            for (var f = 0; f < flows.Length; f++)
            {
                var expected = (double)flows[f].Weight / totalWeight;
                var share = served[f] / served.Sum();
                Assert.True(Math.Abs(share - expected) <= 0.05 * expected, $"flow {f} of weight {flows[f].Weight} got {share:P2}, its weight share is {expected:P2}");
            }
        });
        Check.One(Runs, property);
    }

    [Fact]
    public void Every_item_comes_out_once_in_its_flows_order_whatever_the_interleaving()
    {
        var operations = Gen.ListOf(Gen.Choose(-1, 5)).Select(list => list.ToArray()).ToArbitrary();
        var property = Prop.ForAll(operations, Seeds, (steps, seed) =>
        {
            var random = new Random(seed);
            var drr = new DeficitRoundRobin(Quantum);
            var weights = new[] { 1, 2, 3, 5, 8, 13 };
            foreach (var weight in weights)
            {
                _ = drr.AddFlow(weight, capacity: 3);
            }

            var sent = new long[weights.Length];
            var received = new long[weights.Length];
            void Take()
            {
                Assert.True(drr.TryDequeue(out var flow, out var token));
                Assert.Equal((flow * 1_000_000L) + received[flow], token);
                received[flow]++;
            }

            // -1 takes an item when there is one; 0 to 5 offers one to that flow (refused when full).
            foreach (var step in steps)
            {
                if (step < 0)
                {
                    if (sent.Sum() > received.Sum())
                    {
                        Take();
                    }
                }
                else if (drr.TryEnqueue(step, random.Next(1, (int)Quantum + 1), (step * 1_000_000L) + sent[step]))
                {
                    sent[step]++;
                }
                else
                {
                    Assert.Equal(3, sent[step] - received[step]);
                }
            }

            while (sent.Sum() > received.Sum())
            {
                Take();
            }

            Assert.False(drr.TryDequeue(out _, out _));
            Assert.Equal(sent, received);
        });
        Check.One(Runs, property);
    }

    [Fact]
    public void A_flow_that_empties_banks_no_credit_a_busy_period_never_outspends_its_turns()
    {
        var operations = Gen.ListOf(Gen.Choose(-1, 2)).Select(list => list.ToArray()).ToArbitrary();
        var property = Prop.ForAll(operations, Seeds, (steps, seed) =>
        {
            var random = new Random(seed);
            var drr = new DeficitRoundRobin(Quantum);
            var weights = new[] { 1, 2, 3 };
            foreach (var weight in weights)
            {
                _ = drr.AddFlow(weight, capacity: 4);
            }

            // Always backlogged, so another flow's turns are never back to back and a run of
            // dequeues from one flow is one turn.
            var busy = drr.AddFlow(weight: 1, capacity: 1);
            var costs = new Dictionary<long, double>();
            var next = 0L;
            bool Offer(int flow)
            {
                var cost = (double)random.Next(1, (int)Quantum + 1);
                costs[next] = cost;
                return drr.TryEnqueue(flow, cost, next++);
            }

            Assert.True(Offer(busy));
            var queued = new int[weights.Length];
            var spent = new double[weights.Length];
            var turns = new int[weights.Length];
            var last = -1;
            foreach (var step in steps)
            {
                if (step >= 0)
                {
                    queued[step] += Offer(step) ? 1 : 0;
                    continue;
                }

                Assert.True(drr.TryDequeue(out var flow, out var token));
                if (flow == busy)
                {
                    Assert.True(Offer(busy));
                }
                else
                {
                    turns[flow] += flow == last ? 0 : 1;
                    spent[flow] += costs[token];
                    Assert.True(spent[flow] <= turns[flow] * weights[flow] * Quantum, $"flow {flow} spent {spent[flow]} in {turns[flow]} turns of {weights[flow] * Quantum}");
                    if (--queued[flow] == 0)
                    {
                        spent[flow] = 0;
                        turns[flow] = 0;
                    }
                }

                last = flow;
            }
        });
        Check.One(Runs, property);
    }
}
