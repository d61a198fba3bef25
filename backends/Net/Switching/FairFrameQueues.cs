using IoVirt.Arbitration;
using IoVirt.Interop;

namespace IoVirt.Backends.Net.Switching;

/// <summary>
/// Frames from several sources waiting for one consumer (the uplink, or a port's guest): a
/// bounded ring of frame slots per source, and a deficit round robin over the sources (weighted,
/// each frame costing what the cost model says) choosing whose frame goes next. A source that
/// sends many small frames and one that sends few large ones get the consumer in proportion to
/// their weights, and a source that floods fills only its own ring, so it cannot crowd out a
/// quieter one. Sources add on their threads, the consumer takes on its own; both under one lock
/// held for a copy. <see cref="Ready"/> is signalled when frames wait after none did.
/// </summary>
internal sealed class FairFrameQueues : IDisposable
{
    private readonly object _gate = new();
    private readonly List<SourceRing> _sources = [];
    private readonly DeficitRoundRobin _rounds;
    private readonly NetCostModel _cost;
    private readonly int _depth;
    private int _queued;

    /// <param name="cost">What a frame costs the consumer.</param>
    /// <param name="depth">Frames each source may have waiting; more are refused.</param>
    /// <param name="slotBytes">The largest frame (tag included) a source may queue.</param>
    public FairFrameQueues(NetCostModel cost, int depth, int slotBytes)
    {
        _cost = cost;
        _depth = depth;
        SlotBytes = slotBytes;
        _rounds = new DeficitRoundRobin(cost.Cost(slotBytes));
    }

    public EventFd Ready { get; } = EventFd.Create();

    /// <summary>The largest packet <see cref="TryDequeue"/> returns.</summary>
    public int SlotBytes { get; }

    /// <summary>Adds a source with its share of the consumer; returns its number (0, 1, … in the order added).</summary>
    public int AddSource(int weight)
    {
        var ring = new SourceRing(_depth, SlotBytes);
        lock (_gate)
        {
            var source = _rounds.AddFlow(weight, _depth);
            _sources.Add(ring);
            return source;
        }
    }

    /// <summary>Queues <paramref name="packet"/> from <paramref name="source"/>, tagged with <paramref name="vlan"/> (0: untagged); false when that source's ring is full or the packet too large.</summary>
    public bool TryEnqueue(int source, ReadOnlySpan<byte> packet, ushort vlan)
    {
        if (packet.Length + (vlan == 0 ? 0 : VlanTag.Size) > SlotBytes)
        {
            return false;
        }

        bool wasEmpty;
        lock (_gate)
        {
            if (_rounds.Queued(source) == _depth)
            {
                return false;
            }

            // The ring is written in the order the scheduler serves the source, so the slot after
            // the last one written is free whenever the source has room.
            var ring = _sources[source];
            var slot = ring.Next;
            var length = VlanTag.Insert(packet, vlan, ring.Slot(slot));
            ring.Lengths[slot] = length;
            ring.Next = (slot + 1) % _depth;
            _ = _rounds.TryEnqueue(source, _cost.Cost(length), slot);
            wasEmpty = _queued++ == 0;
        }

        if (wasEmpty)
        {
            Ready.Signal();
        }

        return true;
    }

    /// <summary>
    /// Copies the next frame in fair order to <paramref name="destination"/> (at least
    /// <see cref="SlotBytes"/>) and returns its length, with the <paramref name="source"/> it came
    /// from; 0 when none waits.
    /// </summary>
    public int TryDequeue(Span<byte> destination, out int source)
    {
        lock (_gate)
        {
            if (!_rounds.TryDequeue(out source, out var token))
            {
                return 0;
            }

            var ring = _sources[source];
            var slot = (int)token;
            var length = ring.Lengths[slot];
            ring.Slot(slot)[..length].CopyTo(destination);
            _queued--;
            return length;
        }
    }

    /// <summary>Drops every waiting frame.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            // Taking each frame in turn leaves the scheduler and the rings in step.
            while (_rounds.TryDequeue(out _, out _))
            {
            }

            _queued = 0;
        }
    }

    public void Dispose() => Ready.Dispose();

    private sealed class SourceRing(int depth, int slotBytes)
    {
        private readonly byte[] _data = GC.AllocateUninitializedArray<byte>(depth * slotBytes);

        public int[] Lengths { get; } = new int[depth];

        public int Next { get; set; }

        public Span<byte> Slot(int slot) => _data.AsSpan(slot * slotBytes, slotBytes);
    }
}
