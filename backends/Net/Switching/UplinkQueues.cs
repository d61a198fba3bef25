using IoVirt.Arbitration;
using IoVirt.Interop;

namespace IoVirt.Backends.Net.Switching;

/// <summary>
/// Guest frames waiting for the uplink: a bounded ring of frame slots per port, and a deficit
/// round robin over the ports (weighted, each frame costing what the cost model says) choosing
/// whose frame goes next, so a port sending many small frames and one sending few large ones
/// get the uplink in proportion to their weights. Port workers add, the uplink thread takes;
/// both under one lock held for a copy. <see cref="Ready"/> is signalled when frames wait after
/// none did.
/// </summary>
internal sealed class UplinkQueues : IDisposable
{
    private readonly object _gate = new();
    private readonly List<PortQueue> _ports = [];
    private readonly DeficitRoundRobin _rounds;
    private readonly NetCostModel _cost;
    private readonly int _depth;
    private readonly int _slotBytes;
    private int _queued;

    /// <param name="options">Queue depth and cost model.</param>
    /// <param name="packetBytes">The largest packet a port gives (a tag is added to it here).</param>
    public UplinkQueues(UplinkOptions options, int packetBytes)
    {
        _cost = options.Cost;
        _depth = options.QueueFrames;
        _slotBytes = packetBytes + VlanTag.Size;
        _rounds = new DeficitRoundRobin(_cost.Cost(_slotBytes));
    }

    public EventFd Ready { get; } = EventFd.Create();

    /// <summary>The largest packet <see cref="TryDequeue"/> returns.</summary>
    public int SlotBytes => _slotBytes;

    /// <summary>Adds a port's queue with its share of the uplink, counting what it sends up in <paramref name="counters"/>; returns the queue's number.</summary>
    public int AddPort(int weight, SwitchCounters counters)
    {
        lock (_gate)
        {
            var flow = _rounds.AddFlow(weight, _depth);
            _ports.Add(new PortQueue(_depth, _slotBytes, counters));
            return flow;
        }
    }

    /// <summary>Queues <paramref name="packet"/> on queue <paramref name="flow"/>, tagged with <paramref name="vlan"/>; false when that queue is full.</summary>
    public bool TryEnqueue(int flow, ReadOnlySpan<byte> packet, ushort vlan)
    {
        if (packet.Length > _slotBytes - VlanTag.Size)
        {
            return false;
        }

        bool wasEmpty;
        lock (_gate)
        {
            if (_rounds.Queued(flow) == _depth)
            {
                return false;
            }

            // The ring is written in the order the scheduler serves the flow, so the slot after
            // the last one written is free whenever the flow has room.
            var queue = _ports[flow];
            var slot = queue.Next;
            var length = VlanTag.Insert(packet, vlan, queue.Slot(slot));
            queue.Lengths[slot] = length;
            queue.Next = (slot + 1) % _depth;
            _ = _rounds.TryEnqueue(flow, _cost.Cost(length), slot);
            wasEmpty = _queued++ == 0;
        }

        if (wasEmpty)
        {
            Ready.Signal();
        }

        return true;
    }

    /// <summary>Copies the next frame in fair order to <paramref name="destination"/> (at least <see cref="SlotBytes"/>) and returns its length; 0 when none waits.</summary>
    public int TryDequeue(Span<byte> destination)
    {
        lock (_gate)
        {
            if (!_rounds.TryDequeue(out var flow, out var token))
            {
                return 0;
            }

            var queue = _ports[flow];
            var slot = (int)token;
            var length = queue.Lengths[slot];
            queue.Slot(slot)[..length].CopyTo(destination);
            queue.Counters.SendUp();
            _queued--;
            return length;
        }
    }

    public void Dispose() => Ready.Dispose();

    private sealed class PortQueue(int depth, int slotBytes, SwitchCounters counters)
    {
        public SwitchCounters Counters => counters;

        private readonly byte[] _data = GC.AllocateUninitializedArray<byte>(depth * slotBytes);

        public int[] Lengths { get; } = new int[depth];

        public int Next { get; set; }

        public Span<byte> Slot(int slot) => _data.AsSpan(slot * slotBytes, slotBytes);
    }
}
