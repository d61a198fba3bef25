using IoVirt.Abi.VhostUser;

namespace IoVirt.Virtqueue.Split;

/// <summary>
/// Inflight I/O tracking of one split queue in an area shared with the front end (vhost-user
/// INFLIGHT_SHMFD, "Inflight I/O tracking"): which heads were popped and not yet completed, in
/// which order, and the last batch of completions. The front end keeps the area across a back-end
/// crash, so the next back end can resubmit exactly the requests that were in flight, none twice.
/// The area is written by this process only, but it comes back from the front end: everything
/// read from it is bounds-checked before use.
/// </summary>
public sealed unsafe class SplitInflightTracker : InflightTracker
{
    private readonly InflightQueueRegionSplit* _header;
    private readonly InflightDescStateSplit* _states;
    private readonly int _size;
    private ulong _counter;
    private int _batchLength;

    /// <summary>Tracks a queue of <paramref name="queueSize"/> in <paramref name="area"/> (<see cref="AreaSize"/> bytes), initialising an area never used.</summary>
    public SplitInflightTracker(byte* area, int queueSize)
    {
        _header = (InflightQueueRegionSplit*)area;
        _states = (InflightDescStateSplit*)(area + InflightQueueRegionSplit.HeaderSize);
        _size = queueSize;
        if (_header->Version == 0)
        {
            _header->DescNum = (ushort)queueSize;
            _header->Version = InflightQueueRegionSplit.CurrentVersion;
        }
    }

    /// <summary>Bytes one queue's area takes (header and one state per descriptor, rounded to 64).</summary>
    public static int AreaSize(int queueSize) => (InflightQueueRegionSplit.HeaderSize + (InflightDescStateSplit.Size * queueSize) + 63) & ~63;

    /// <summary>False when the area describes another queue size or version (the front end sent a different buffer).</summary>
    public override bool Matches => _header->Version == InflightQueueRegionSplit.CurrentVersion && _header->DescNum == _size;

    /// <summary>The in-flight byte of a head's state (written with ordering, so not through the accessor).</summary>
    private byte* InflightFlag(ushort head) => (byte*)(_states + head) + InflightDescStateSplit.InflightOffset;

    internal void Popped(ushort head)
    {
        _states[head].Counter = ++_counter;
        // The flag is written after the counter, so a crash never leaves a flagged entry without its order.
        Volatile.Write(ref *InflightFlag(head), 1);
    }

    internal void Unpopped(ushort head) => Volatile.Write(ref *InflightFlag(head), 0);

    internal void Used(ushort head)
    {
        _states[head].Next = _header->LastBatchHead;
        Volatile.Write(ref *(ushort*)((byte*)_header + InflightQueueRegionSplit.LastBatchHeadOffset), head);
        _batchLength++;
    }

    /// <summary>After the used index reached <paramref name="usedIndex"/>: the batch is no longer in flight.</summary>
    internal void Published(ushort usedIndex)
    {
        var head = _header->LastBatchHead;
        for (var i = 0; i < _batchLength; i++)
        {
            Volatile.Write(ref *InflightFlag(head), 0);
            head = _states[head].Next;
        }

        _batchLength = 0;
        Volatile.Write(ref *(ushort*)((byte*)_header + InflightQueueRegionSplit.UsedIdxOffset), usedIndex);
    }

    /// <summary>
    /// At ring start: settles a batch the previous back end published but had not recorded
    /// (the ring's used index is ahead of the area's), then returns the heads still in flight in
    /// the order they were popped, and the next available index (used index plus those heads).
    /// </summary>
    internal ushort Recover(ushort ringUsedIndex, List<ResubmittedChain> resubmit)
    {
        var unrecorded = unchecked((ushort)(ringUsedIndex - _header->UsedIdx));
        var head = _header->LastBatchHead;
        for (var i = 0; i < unrecorded && i < _size && head < _size; i++)
        {
            _states[head].Inflight = 0;
            head = _states[head].Next;
        }

        _header->UsedIdx = ringUsedIndex;
        resubmit.Clear();
        var order = new List<(ulong Counter, ushort Head)>();
        for (var i = 0; i < _size; i++)
        {
            if (_states[i].Inflight == 1)
            {
                order.Add((_states[i].Counter, (ushort)i));
            }
            else
            {
                _states[i].Inflight = 0;
            }
        }

        order.Sort();
        _counter = order.Count == 0 ? 0 : order[^1].Counter;
        foreach (var (_, h) in order)
        {
            resubmit.Add(new ResubmittedChain(h, 1, h));
        }

        return unchecked((ushort)(ringUsedIndex + order.Count));
    }
}
