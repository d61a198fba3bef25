using IoVirt.Arbitration;

namespace IoVirt.Tests.Arbitration;

/// <summary>Deficit round robin, item by item: turns, weights, idle flows, bounds.</summary>
public class DeficitRoundRobinTests
{
    [Fact]
    public void A_flow_of_small_items_and_a_flow_of_large_ones_get_equal_cost_at_equal_weight()
    {
        var drr = new DeficitRoundRobin(quantum: 1000);
        var small = drr.AddFlow(weight: 1, capacity: 1000);
        var large = drr.AddFlow(weight: 1, capacity: 1000);
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(drr.TryEnqueue(small, 100, i));
        }

        for (var i = 0; i < 100; i++)
        {
            Assert.True(drr.TryEnqueue(large, 1000, i));
        }

        var served = new int[2];
        for (var i = 0; i < 550; i++)
        {
            Assert.True(drr.TryDequeue(out var flow, out _));
            served[flow]++;
        }

        // 50 rounds: ten small items, then one large one, per round.
        Assert.Equal(500, served[small]);
        Assert.Equal(50, served[large]);
    }

    [Fact]
    public void A_flow_whose_queue_empties_banks_no_credit_for_when_it_comes_back()
    {
        var drr = new DeficitRoundRobin(quantum: 10);
        var idle = drr.AddFlow(weight: 1, capacity: 8);
        var busy = drr.AddFlow(weight: 1, capacity: 64);
        Assert.True(drr.TryEnqueue(idle, 4, 0)); // leaves 6 of its quantum unspent
        for (var i = 0; i < 40; i++)
        {
            Assert.True(drr.TryEnqueue(busy, 10, 100 + i));
        }

        Assert.Equal(0, Next(drr));
        Assert.Equal(100, Next(drr));
        Assert.Equal(101, Next(drr));
        Assert.True(drr.TryEnqueue(idle, 8, 1));
        Assert.True(drr.TryEnqueue(idle, 8, 2));

        // With the 6 kept it would send both (16); fresh, it sends one per turn of 10.
        var order = Enumerable.Range(0, 4).Select(_ => Next(drr)).ToArray();
        Assert.Equal([1, 102, 2, 103], order);
    }

    [Fact]
    public void A_full_flow_refuses_and_an_item_dearer_than_a_quantum_is_an_error()
    {
        var drr = new DeficitRoundRobin(quantum: 10);
        var flow = drr.AddFlow(weight: 3, capacity: 2);
        Assert.True(drr.TryEnqueue(flow, 1, 0));
        Assert.True(drr.TryEnqueue(flow, 1, 1));
        Assert.False(drr.TryEnqueue(flow, 1, 2));
        Assert.Equal(2, drr.Queued(flow));
        Assert.Throws<ArgumentOutOfRangeException>(() => drr.TryEnqueue(flow, 11, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => drr.TryEnqueue(flow, 0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => drr.TryEnqueue(5, 1, 3));
        Assert.Equal(0, Next(drr));
        Assert.Equal(1, Next(drr));
        Assert.False(drr.TryDequeue(out _, out _));
    }

    [Fact]
    public void A_flow_added_while_another_waits_takes_turns_with_it()
    {
        var drr = new DeficitRoundRobin(quantum: 1);
        var first = drr.AddFlow(weight: 1, capacity: 4);
        Assert.True(drr.TryEnqueue(first, 1, 10));
        Assert.True(drr.TryEnqueue(first, 1, 11));
        Assert.Equal(10, Next(drr));
        var second = drr.AddFlow(weight: 1, capacity: 4);
        Assert.True(drr.TryEnqueue(second, 1, 20));
        // The first flow spent its quantum on 10, so the newcomer goes before 11.
        Assert.Equal([20, 11], new[] { Next(drr), Next(drr) });
        Assert.False(drr.TryDequeue(out _, out _));
    }

    private static long Next(DeficitRoundRobin drr)
    {
        Assert.True(drr.TryDequeue(out _, out var token));
        return token;
    }
}
