using System.Runtime.CompilerServices;
using IoVirt.Abi.Virtio;
using IoVirt.Memory;

namespace IoVirt.Virtqueue.Split;

/// <summary>
/// Device side of a split virtqueue (virtio 1.2 §2.7). Ring addresses are validated once when the
/// queue is created (or rebound); the hot path then checks only guest-written indices.
/// </summary>
public sealed unsafe class SplitQueue : DeviceQueue
{
    private readonly ushort _mask;
    private VirtqDesc* _descriptors;
    private byte* _avail;
    private byte* _used;
    private ushort _nextAvail;
    private ushort _knownAvail;
    private ushort _nextUsed;
    private ushort _publishedUsed;
    private ushort _signalledUsed;
    private SplitInflightTracker? _inflight;
    private ushort _lastPoppedHead;
    private readonly UnwrittenUsed[] _unwritten = new UnwrittenUsed[UnwrittenUsedCapacity];
    private int _unwrittenCount;

    private SplitQueue(GuestMemory memory, QueueConfig config, QueuePosition position)
        : base(memory, config)
    {
        _mask = (ushort)(config.Size - 1);
        _nextAvail = position.NextAvail;
        _knownAvail = position.NextAvail;
        _nextUsed = position.NextUsed;
        _publishedUsed = position.NextUsed;
        _signalledUsed = position.NextUsed;
    }

    /// <summary>
    /// Validates <paramref name="config"/> against <paramref name="memory"/> and creates the queue at
    /// <paramref name="position"/> (fresh queues start at <see cref="QueuePosition.Initial"/>).
    /// </summary>
    public static QueueError TryCreate(GuestMemory memory, QueueConfig config, QueuePosition position, out SplitQueue? queue)
    {
        ArgumentNullException.ThrowIfNull(memory);
        queue = null;
        if (!IsValidSize(config.Size) || (config.Size & (config.Size - 1)) != 0)
        {
            return QueueError.InvalidQueueSize;
        }

        return Activate(new SplitQueue(memory, config, position), memory, out queue);
    }

    public override QueuePosition Position => new(_nextAvail, false, _nextUsed, false);

    /// <inheritdoc/>
    /// <remarks>The available index resumes after the resubmitted chains: the ring's used index plus their number.</remarks>
    public override int TrackInflight(InflightTracker tracker, bool recover)
    {
        _inflight = TrackerOf<SplitInflightTracker>(tracker);
        if (!recover)
        {
            return 0;
        }

        var ringUsed = LittleEndian.ToHost(Volatile.Read(ref *UsedIdx));
        var nextAvail = _inflight.Recover(ringUsed, Resubmissions);
        RestartResubmissions();
        _nextAvail = _knownAvail = nextAvail;
        _nextUsed = _publishedUsed = _signalledUsed = ringUsed;
        return Resubmissions.Count;
    }

    /// <summary>The used index as the device last published it (what a driver reads).</summary>
    public ushort PublishedUsedIndex => _publishedUsed;

    private ushort* AvailIdx => (ushort*)(_avail + VirtqAvail.IdxOffset);

    private ushort* AvailRing => (ushort*)(_avail + VirtqAvail.RingOffset);

    private ushort* UsedEvent => (ushort*)(_avail + VirtqAvail.UsedEventOffset(Size));

    private ushort* UsedFlags => (ushort*)(_used + VirtqUsed.FlagsOffset);

    private ushort* UsedIdx => (ushort*)(_used + VirtqUsed.IdxOffset);

    private VirtqUsedElem* UsedRing => (VirtqUsedElem*)(_used + VirtqUsed.RingOffset);

    private ushort* AvailEvent => (ushort*)(_used + VirtqUsed.AvailEventOffset(Size));

    private protected override QueueError Bind(GuestMemory memory)
    {
        var c = Config;
        if (c.DescriptorTable % SplitRingLayout.DescriptorTableAlignment != 0
            || c.DriverArea % VirtqAvail.Alignment != 0
            || c.DeviceArea % VirtqUsed.Alignment != 0)
        {
            return QueueError.RingMisaligned;
        }

        // The trailing event fields exist only with EVENT_IDX; without it the driver need not allocate them.
        var trailer = c.EventIdx ? 0UL : 2UL;
        if (memory.TryGetPointer(c.DescriptorTable, SplitRingLayout.DescriptorTableSize(c.Size), out var descriptors) != MemoryFault.None
            || memory.TryGetPointer(c.DriverArea, VirtqAvail.TotalSize(c.Size) - trailer, out var avail) != MemoryFault.None
            || memory.TryGetPointer(c.DeviceArea, VirtqUsed.TotalSize(c.Size) - trailer, out var used) != MemoryFault.None)
        {
            return QueueError.RingOutsideMemory;
        }

        _descriptors = (VirtqDesc*)descriptors;
        _avail = avail;
        _used = used;
        return QueueError.None;
    }

    public override bool HasAvailable =>
        !IsBroken && ((_inflight is not null && ResubmissionsLeft) || RingOffersNext());

    public override bool TryPop(out DescriptorChain chain)
    {
        if (IsBroken)
        {
            return NoChain(out chain);
        }

        if (_inflight is not null && TryTakeResubmission(out var again))
        {
            chain = new DescriptorChain(this, packed: false, (byte*)_descriptors, (uint)Size, again.First, (uint)Size, new ChainHead(again.Id, 1));
            return true;
        }

        if (!RingOffersNext())
        {
            return NoChain(out chain);
        }

        var head = LittleEndian.ToHost(AvailRing[_nextAvail & _mask]);
        _nextAvail = unchecked((ushort)(_nextAvail + 1));
        if (head >= Size)
        {
            ReportFault(QueueError.DescriptorIndexOutOfRange);
            return NoChain(out chain);
        }

        if (_inflight is not null)
        {
            _inflight.Popped(head);
            _lastPoppedHead = head;
        }

        chain = new DescriptorChain(this, packed: false, (byte*)_descriptors, (uint)Size, head, (uint)Size, new ChainHead(head, 1));
        return true;
    }

    // The collected starts are read only as far as they were written: no need to zero them first.
    [SkipLocalsInit]
    public override void Prefetch(int chains)
    {
        if (IsBroken || !RingOffersNext())
        {
            return;
        }

        var count = Math.Clamp(chains, 0, Math.Min(MaxPrefetchedChains, (int)unchecked((ushort)(_knownAvail - _nextAvail))));

        // Three passes, each a run of loads that depend on nothing in flight, so that the CPU
        // keeps many of the driver's lines coming at once; one walk that reads a descriptor and
        // then its buffers holds only a few chains' misses (measured: 2-3% more echoed frames).
        // First the chains' head descriptors.
        for (var i = 0; i < count; i++)
        {
            var head = (uint)LittleEndian.ToHost(AvailRing[unchecked((ushort)(_nextAvail + i)) & _mask]);
            if (head < (uint)Size)
            {
                _ = Volatile.Read(ref *(byte*)&_descriptors[head]);
            }
        }

        // Then where the first few buffers of each chain (a header and a packet, say) are
        // mapped; an indirect table is left to the walk.
        var starts = stackalloc CacheLines[count * PrefetchedBuffersPerChain];
        var found = 0;
        for (var i = 0; i < count; i++)
        {
            var index = (uint)LittleEndian.ToHost(AvailRing[unchecked((ushort)(_nextAvail + i)) & _mask]);
            for (var walked = 0; walked < PrefetchedBuffersPerChain && index < (uint)Size; walked++)
            {
                var descriptor = _descriptors[index];
                if ((descriptor.Flags & VirtqDescFlags.Indirect) != 0)
                {
                    break;
                }

                if ((descriptor.Flags & VirtqDescFlags.Write) == 0 && Memory.TryLocateStart(descriptor.Addr, descriptor.Len, out starts[found]))
                {
                    found++;
                }

                if ((descriptor.Flags & VirtqDescFlags.Next) == 0)
                {
                    break;
                }

                index = descriptor.Next;
            }
        }

        // Then the buffers' lines.
        for (var i = 0; i < found; i++)
        {
            starts[i].Touch();
        }
    }

    /// <summary>Whether the driver offers a chain past the device's position: known already, or seen by reading the avail index again.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool RingOffersNext() => _nextAvail != _knownAvail || ReadAvailIndex();

    /// <summary>
    /// Reads the driver's avail index; false when it brought no new chain or jumped by more than
    /// the ring holds (a fault).
    /// </summary>
    private bool ReadAvailIndex()
    {
        // Acquire: the ring entries and descriptors the driver wrote before raising idx
        // (it issues a write barrier first, §2.7.13.3) are visible to the reads that follow.
        _knownAvail = LittleEndian.ToHost(Volatile.Read(ref *AvailIdx));
        if (unchecked((ushort)(_knownAvail - _nextAvail)) > Size)
        {
            ReportFault(QueueError.AvailIndexJump);
            return false;
        }

        return _knownAvail != _nextAvail;
    }

    public override void UndoLastPop()
    {
        if (_inflight is not null)
        {
            if (LastPopResubmitted)
            {
                UndoResubmission();
                return;
            }

            _inflight.Unpopped(_lastPoppedHead);
        }

        _nextAvail = unchecked((ushort)(_nextAvail - 1));
    }

    public override void AddUsed(ChainHead head, uint writtenBytes)
    {
        if (head.Id >= Size)
        {
            throw BadHead(head);
        }

        if (_unwrittenCount == _unwritten.Length)
        {
            WriteUnwritten();
        }

        _unwritten[_unwrittenCount++] = new UnwrittenUsed((ushort)(_nextUsed & _mask), head.Id, writtenBytes);
        _nextUsed = unchecked((ushort)(_nextUsed + 1));
        _inflight?.Used(head.Id);
    }

    public override void PublishUsed()
    {
        if (_publishedUsed == _nextUsed)
        {
            return;
        }

        WriteUnwritten();

        // Release: the used elements written above are visible before the index that hands
        // them to the driver (§2.7.8.2).
        Volatile.Write(ref *UsedIdx, LittleEndian.FromHost(_nextUsed));
        _inflight?.Published(_nextUsed);
        if (Memory.IsDirtyLogging)
        {
            LogUsedRange(_publishedUsed, _nextUsed);
        }

        _publishedUsed = _nextUsed;
    }

    public override bool NeedsInterrupt()
    {
        if (_publishedUsed == _signalledUsed)
        {
            return false; // nothing new since the last answer: no barrier, no read of the driver's state
        }

        // Full barrier: the used index store must be visible before the driver's suppression
        // state is read; the driver orders its side the same way, so one of us sees the other.
        Interlocked.MemoryBarrier();
        var old = _signalledUsed;
        var current = _publishedUsed;
        _signalledUsed = current;
        if (Config.EventIdx)
        {
            return EventIndex.NeedsEvent(LittleEndian.ToHost(Volatile.Read(ref *UsedEvent)), current, old);
        }

        return current != old
            && (LittleEndian.ToHost(Volatile.Read(ref *(ushort*)(_avail + VirtqAvail.FlagsOffset))) & (ushort)VirtqAvailFlags.NoInterrupt) == 0;
    }

    public override bool EnableNotifications()
    {
        _notificationsOff = false;
        if (Config.EventIdx)
        {
            Volatile.Write(ref *AvailEvent, LittleEndian.FromHost(_nextAvail));
            Memory.MarkDirty(Config.DeviceArea + (ulong)VirtqUsed.AvailEventOffset(Size), sizeof(ushort));
        }
        else
        {
            Volatile.Write(ref *UsedFlags, LittleEndian.FromHost((ushort)VirtqUsedFlags.None));
            Memory.MarkDirty(Config.DeviceArea + VirtqUsed.FlagsOffset, sizeof(ushort));
        }

        // Full barrier: the request for notifications must be visible before idx is read again,
        // or a buffer added in between could be neither seen here nor kicked.
        Interlocked.MemoryBarrier();
        return LittleEndian.ToHost(Volatile.Read(ref *AvailIdx)) != _nextAvail;
    }

    public override void DisableNotifications()
    {
        // With EVENT_IDX the driver kicks only when it passes avail_event, which stays behind
        // while we poll; without it the flag asks for no kicks.
        // Written once per polling stretch, not per round: the driver reads this line on every kick check.
        if (!Config.EventIdx && !_notificationsOff)
        {
            Volatile.Write(ref *UsedFlags, LittleEndian.FromHost((ushort)VirtqUsedFlags.NoNotify));
            Memory.MarkDirty(Config.DeviceArea + VirtqUsed.FlagsOffset, sizeof(ushort));
            _notificationsOff = true;
        }
    }

    /// <summary>NO_NOTIFY is set in the used ring (only the device writes that field).</summary>
    private bool _notificationsOff;

    /// <summary>Writes the used elements <see cref="AddUsed"/> kept, back to back, unpublished.</summary>
    private void WriteUnwritten()
    {
        for (var i = 0; i < _unwrittenCount; i++)
        {
            ref readonly var used = ref _unwritten[i];
            var element = UsedRing + used.Slot;
            element->Id = used.Id;
            element->Len = used.Length;
        }

        _unwrittenCount = 0;
    }

    private readonly record struct UnwrittenUsed(ushort Slot, uint Id, uint Length);

    private void LogUsedRange(ushort from, ushort to)
    {
        for (var i = from; i != to; i = unchecked((ushort)(i + 1)))
        {
            Memory.MarkDirty(Config.DeviceArea + VirtqUsed.RingOffset + ((ulong)(i & _mask) * VirtqUsedElem.Size), VirtqUsedElem.Size);
        }

        Memory.MarkDirty(Config.DeviceArea + VirtqUsed.IdxOffset, sizeof(ushort));
    }
}
