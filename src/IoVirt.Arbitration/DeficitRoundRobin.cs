namespace IoVirt.Arbitration;

/// <summary>
/// Deficit round robin (Shreedhar and Varghese) over flows of costed items. Backlogged flows take
/// turns; a turn adds quantum × weight to the flow's deficit, and the flow is served while its
/// head item's cost fits in the deficit. Over many rounds each backlogged flow therefore gets cost
/// in proportion to its weight, whether it queues many cheap items or few dear ones. A flow whose
/// queue empties leaves the round with its deficit cleared, so idle time banks no credit. Queues
/// are bounded and allocated when a flow is added, so the steady state allocates nothing; no item
/// costs more than one quantum, so every turn serves at least one and a dequeue is O(1). Not
/// thread-safe: one thread, or the caller's lock.
/// </summary>
public sealed class DeficitRoundRobin
{
    private readonly List<Flow> _flows = [];
    private int[] _round = [];
    private int _roundHead;
    private int _roundCount;

    /// <param name="quantum">Cost one unit of weight may spend per turn; the largest cost an item may have.</param>
    public DeficitRoundRobin(double quantum)
    {
        if (!(quantum > 0) || double.IsInfinity(quantum))
        {
            throw new ArgumentOutOfRangeException(nameof(quantum), quantum, "A quantum is a positive, finite cost.");
        }

        Quantum = quantum;
    }

    public double Quantum { get; }

    /// <summary>Adds a flow that may hold up to <paramref name="capacity"/> items; returns its number.</summary>
    public int AddFlow(int weight, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _flows.Add(new Flow(weight * Quantum, capacity));
        // Every flow may be in the round at once: unroll the ring into one a place longer.
        var round = new int[_flows.Count];
        for (var i = 0; i < _roundCount; i++)
        {
            round[i] = _round[(_roundHead + i) % _round.Length];
        }

        _round = round;
        _roundHead = 0;
        return _flows.Count - 1;
    }

    /// <summary>Items waiting in <paramref name="flow"/>.</summary>
    public int Queued(int flow) => Get(flow).Count;

    /// <summary>Queues an item of <paramref name="cost"/> (at most <see cref="Quantum"/>) on <paramref name="flow"/>; false when the flow is full.</summary>
    public bool TryEnqueue(int flow, double cost, long token)
    {
        if (!(cost > 0) || cost > Quantum)
        {
            throw new ArgumentOutOfRangeException(nameof(cost), cost, "An item costs more than nothing and at most one quantum.");
        }

        var queue = Get(flow);
        if (!queue.TryAdd(cost, token))
        {
            return false;
        }

        if (queue.Count == 1)
        {
            _round[(_roundHead + _roundCount) % _round.Length] = flow;
            _roundCount++;
        }

        return true;
    }

    /// <summary>Takes the next item in DRR order: its flow and token; false when every flow is empty.</summary>
    public bool TryDequeue(out int flow, out long token)
    {
        while (_roundCount > 0)
        {
            flow = _round[_roundHead];
            var queue = _flows[flow];
            if (!queue.OnTurn)
            {
                queue.OnTurn = true;
                queue.Deficit += queue.Quantum;
            }

            if (queue.HeadCost <= queue.Deficit)
            {
                queue.Deficit -= queue.HeadCost;
                token = queue.RemoveHead();
                if (queue.Count == 0)
                {
                    queue.Deficit = 0;
                    queue.OnTurn = false;
                    LeaveRound();
                }

                return true;
            }

            // The turn is over: what is left of the deficit waits for the next one.
            queue.OnTurn = false;
            LeaveRound();
            _round[(_roundHead + _roundCount) % _round.Length] = flow;
            _roundCount++;
        }

        flow = -1;
        token = 0;
        return false;
    }

    private void LeaveRound()
    {
        _roundHead = (_roundHead + 1) % _round.Length;
        _roundCount--;
    }

    private Flow Get(int flow) =>
        (uint)flow < (uint)_flows.Count ? _flows[flow] : throw new ArgumentOutOfRangeException(nameof(flow), flow, "No such flow.");

    /// <summary>One flow's bounded FIFO of items and its place in the round.</summary>
    private sealed class Flow(double quantum, int capacity)
    {
        private readonly double[] _costs = new double[capacity];
        private readonly long[] _tokens = new long[capacity];
        private int _head;

        public double Quantum { get; } = quantum;

        public double Deficit { get; set; }

        /// <summary>The flow is being served and has had this turn's quantum.</summary>
        public bool OnTurn { get; set; }

        public int Count { get; private set; }

        public double HeadCost => _costs[_head];

        public bool TryAdd(double cost, long token)
        {
            if (Count == _costs.Length)
            {
                return false;
            }

            var tail = (_head + Count) % _costs.Length;
            _costs[tail] = cost;
            _tokens[tail] = token;
            Count++;
            return true;
        }

        public long RemoveHead()
        {
            var token = _tokens[_head];
            _head = (_head + 1) % _costs.Length;
            Count--;
            return token;
        }
    }
}
