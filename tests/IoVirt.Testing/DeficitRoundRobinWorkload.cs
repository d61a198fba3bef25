using IoVirt.Arbitration;

namespace IoVirt.Testing;

/// <summary>
/// Deficit round robin's per-frame work: <see cref="Flows"/> backlogged flows of weights 1 to
/// <see cref="Flows"/>, each sending frames of its own size (64 to 1500 bytes) costed by a
/// <see cref="NetCostModel"/>; each round takes one frame and its flow queues the next (a closed
/// loop). What the allocation test checks.
/// </summary>
public sealed class DeficitRoundRobinWorkload
{
    public const int Flows = 8;

    private static readonly NetCostModel Model = new(PerPacket: 250, PerByte: 0.25);

    private readonly DeficitRoundRobin _rounds = new(Model.Cost(1500));
    private readonly double[] _costs = new double[Flows];

    public DeficitRoundRobinWorkload()
    {
        for (var i = 0; i < Flows; i++)
        {
            var flow = _rounds.AddFlow(weight: i + 1, capacity: 16);
            _costs[flow] = Model.Cost(64 + (i * 205));
            for (var r = 0; r < 16; r++)
            {
                _ = _rounds.TryEnqueue(flow, _costs[flow], r);
            }
        }
    }

    /// <summary>Runs <paramref name="frames"/> dequeue-enqueue rounds; returns how many frames were taken.</summary>
    public long Run(int frames)
    {
        long taken = 0;
        for (var i = 0; i < frames; i++)
        {
            if (_rounds.TryDequeue(out var flow, out _))
            {
                _ = _rounds.TryEnqueue(flow, _costs[flow], i);
                taken++;
            }
        }

        return taken;
    }
}
