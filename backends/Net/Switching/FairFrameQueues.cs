using IoVirt.Arbitration;
using IoVirt.Interop;

namespace IoVirt.Backends.Net.Switching;

/// <summary>
/// Frames from several sources waiting for one consumer (the uplink, or a port's guest): one
/// pool of frame slots, and a deficit round robin over the sources (weighted, each frame costing
/// what the cost model says) choosing whose frame goes next. A source that sends many small
/// frames and one that sends few large ones get the consumer in proportion to their weights. A
/// source may hold at most <c>depth</c> slots and never more than are still free (the dynamic
/// threshold of shared-buffer switches): a flood takes at most half of what is free, so a quieter
/// source always finds room, and memory grows with the sources only by <c>framesPerSource</c>
/// each, not with every pair of ports. Sources add on their threads, the consumer takes on its
/// own; both under one lock held for a copy. <see cref="Ready"/> is signalled when frames wait
/// after none did.
/// </summary>
internal sealed class FairFrameQueues : IDisposable
{
    private readonly object _gate = new();
    private readonly DeficitRoundRobin _rounds;
    private readonly NetCostModel _cost;
    private readonly int _depth;
    private readonly int _framesPerSource;
    private byte[] _slots = [];
    private int[] _lengths = [];
    private int[] _free = [];
    private int _freeCount;
    private int _queued;

    /// <param name="cost">What a frame costs the consumer.</param>
    /// <param name="depth">Frames one source may have waiting at most; more are refused.</param>
    /// <param name="slotBytes">The largest frame (tag included) a source may queue.</param>
    /// <param name="poolFrames">Slots shared by all sources from the start.</param>
    /// <param name="framesPerSource">Slots each source adds to the pool.</param>
    public FairFrameQueues(NetCostModel cost, int depth, int slotBytes, int poolFrames, int framesPerSource = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(poolFrames);
        ArgumentOutOfRangeException.ThrowIfNegative(framesPerSource);
        _cost = cost;
        _depth = depth;
        _framesPerSource = framesPerSource;
        SlotBytes = slotBytes;
        _rounds = new DeficitRoundRobin(cost.Cost(slotBytes));
        Grow(poolFrames);
    }

    public EventFd Ready { get; } = EventFd.Create();

    /// <summary>The largest packet <see cref="TryDequeue"/> returns.</summary>
    public int SlotBytes { get; }

    /// <summary>Adds a source with its share of the consumer; returns its number (0, 1, … in the order added).</summary>
    public int AddSource(int weight)
    {
        lock (_gate)
        {
            Grow(_framesPerSource);
            return _rounds.AddFlow(weight, _depth);
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
            var waiting = _rounds.Queued(source);
            if (waiting >= _depth || waiting >= _freeCount)
            {
                return false;
            }

            var slot = _free[--_freeCount];
            var length = VlanTag.Insert(packet, vlan, Slot(slot));
            _lengths[slot] = length;
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

            var slot = (int)token;
            var length = _lengths[slot];
            Slot(slot)[..length].CopyTo(destination);
            _free[_freeCount++] = slot;
            _queued--;
            return length;
        }
    }

    /// <summary>Drops every waiting frame.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            // Taking each frame in turn leaves the scheduler and the pool in step.
            while (_rounds.TryDequeue(out _, out var token))
            {
                _free[_freeCount++] = (int)token;
            }

            _queued = 0;
        }
    }

    public void Dispose() => Ready.Dispose();

    private Span<byte> Slot(int slot) => _slots.AsSpan(slot * SlotBytes, SlotBytes);

    /// <summary>Adds <paramref name="frames"/> free slots to the pool (when a source is added, under the lock, or at construction).</summary>
    private void Grow(int frames)
    {
        if (frames == 0)
        {
            return;
        }

        var old = _lengths.Length;
        var slots = GC.AllocateUninitializedArray<byte>((old + frames) * SlotBytes);
        _slots.CopyTo(slots, 0);
        _slots = slots;
        Array.Resize(ref _lengths, old + frames);
        Array.Resize(ref _free, old + frames);
        for (var slot = old + frames - 1; slot >= old; slot--)
        {
            _free[_freeCount++] = slot;
        }
    }
}
