using System.Runtime.CompilerServices;
using IoVirt.Abi.Virtio;
using IoVirt.Memory;

namespace IoVirt.Virtqueue.Packed;

/// <summary>
/// Device side of a packed virtqueue (virtio 1.2 §2.8). The driver area holds the driver's event
/// suppression structure, the device area the device's. Ring addresses are validated once when
/// the queue is created (or rebound); the hot path then checks only guest-written flags and counts.
/// </summary>
public sealed unsafe class PackedQueue : DeviceQueue
{
    private PackedDesc* _ring;
    private PackedEventSuppression* _driverEvent;
    private PackedEventSuppression* _deviceEvent;
    private ushort _nextAvail;
    private bool _availWrap;
    private ushort _nextUsed;
    private bool _usedWrap;
    private ushort _poppedFrom;
    private bool _poppedFromWrap;
    private bool _batchOpen;
    private ushort _batchHeadSlot;
    private ushort _batchHeadFlags;
    private ushort _publishedUsed;
    private bool _publishedWrap;
    private ushort _signalledUsed;
    private bool _unsignalled;
    private PackedInflightTracker? _inflight;
    private readonly UnwrittenUsed[] _unwritten = new UnwrittenUsed[UnwrittenUsedCapacity];
    private int _unwrittenCount;

    private PackedQueue(GuestMemory memory, QueueConfig config, QueuePosition position)
        : base(memory, config)
    {
        _nextAvail = position.NextAvail;
        _availWrap = position.AvailWrap;
        _nextUsed = position.NextUsed;
        _usedWrap = position.UsedWrap;
        _publishedUsed = position.NextUsed;
        _publishedWrap = position.UsedWrap;
        _signalledUsed = position.NextUsed;
    }

    /// <summary>
    /// Validates <paramref name="config"/> and <paramref name="position"/> against
    /// <paramref name="memory"/> and creates the queue (fresh queues start at <see cref="QueuePosition.Initial"/>).
    /// </summary>
    public static QueueError TryCreate(GuestMemory memory, QueueConfig config, QueuePosition position, out PackedQueue? queue)
    {
        ArgumentNullException.ThrowIfNull(memory);
        queue = null;
        if (!IsValidSize(config.Size))
        {
            return QueueError.InvalidQueueSize;
        }

        if (position.NextAvail >= config.Size || position.NextUsed >= config.Size)
        {
            return QueueError.DescriptorIndexOutOfRange;
        }

        return Activate(new PackedQueue(memory, config, position), memory, out queue);
    }

    public override QueuePosition Position => new(_nextAvail, _availWrap, _nextUsed, _usedWrap);

    /// <inheritdoc/>
    /// <remarks>Resubmitted chains are walked from copies of their descriptors kept in the inflight area, and both positions resume where the previous back end stood.</remarks>
    public override int TrackInflight(InflightTracker tracker, bool recover)
    {
        _inflight = TrackerOf<PackedInflightTracker>(tracker);
        if (!recover)
        {
            return 0;
        }

        if (_inflight.RecordsNothing)
        {
            // A new area (a migration's destination, a first start): nothing to resubmit, and the
            // ring goes on from where it was started, not from the area's initial positions.
            _inflight.Adopt(Position);
            return 0;
        }

        (_nextAvail, _availWrap, _nextUsed, _usedWrap) = _inflight.Recover(_ring, Resubmissions);
        _publishedUsed = _signalledUsed = _nextUsed;
        _publishedWrap = _usedWrap;
        RestartResubmissions();
        return Resubmissions.Count;
    }

    private protected override QueueError Bind(GuestMemory memory)
    {
        var c = Config;
        if (c.DescriptorTable % PackedRingLayout.DescriptorRingAlignment != 0
            || c.DriverArea % PackedRingLayout.EventSuppressionAlignment != 0
            || c.DeviceArea % PackedRingLayout.EventSuppressionAlignment != 0)
        {
            return QueueError.RingMisaligned;
        }

        if (memory.TryGetPointer(c.DescriptorTable, PackedRingLayout.DescriptorRingSize(c.Size), out var ring) != MemoryFault.None
            || memory.TryGetPointer(c.DriverArea, PackedEventSuppression.Size, out var driverEvent) != MemoryFault.None
            || memory.TryGetPointer(c.DeviceArea, PackedEventSuppression.Size, out var deviceEvent) != MemoryFault.None)
        {
            return QueueError.RingOutsideMemory;
        }

        _ring = (PackedDesc*)ring;
        _driverEvent = (PackedEventSuppression*)driverEvent;
        _deviceEvent = (PackedEventSuppression*)deviceEvent;
        return QueueError.None;
    }

    /// <summary>A slot is available when its AVAIL bit equals the wrap counter and its USED bit differs (§2.8.1).</summary>
    private static bool IsAvailable(ushort flags, bool wrap) =>
        ((flags & (ushort)PackedDescFlags.Avail) != 0) == wrap && ((flags & (ushort)PackedDescFlags.Used) != 0) != wrap;

    /// <summary>Whether the driver has made the slot at the device's position available (acquire: see <see cref="ReadFlags"/>).</summary>
    private bool NextIsAvailable() => IsAvailable(ReadFlags(_nextAvail), _availWrap);

    private ushort ReadFlags(ushort slot) =>
        LittleEndian.ToHost(Volatile.Read(ref *(ushort*)((byte*)(_ring + slot) + PackedDesc.FlagsOffset)));

    public override bool HasAvailable =>
        !IsBroken && ((_inflight is not null && ResubmissionsLeft) || NextIsAvailable());

    public override bool TryPop(out DescriptorChain chain)
    {
        if (IsBroken)
        {
            return NoChain(out chain);
        }

        if (_inflight is not null && TryTakeResubmission(out var again))
        {
            // Walked from the tracker's copy: the ring slots may hold used elements or new chains by now.
            chain = new DescriptorChain(this, packed: true, _inflight.ResubmitTable, (uint)Size, again.First, again.Count, new ChainHead(again.Id, again.Count));
            return true;
        }

        // Acquire: the driver writes a chain's other descriptors, then the head's flags with a
        // barrier before (§2.8.21); after this read the whole chain is visible.
        var flags = ReadFlags(_nextAvail);
        if (!IsAvailable(flags, _availWrap))
        {
            return NoChain(out chain);
        }

        // Walk the ring slots of the chain once to learn its length and buffer id, which sits in
        // the chain's last descriptor.
        var slot = _nextAvail;
        var wrap = _availWrap;
        ushort count = 1;
        while ((flags & (ushort)PackedDescFlags.Next) != 0)
        {
            if ((flags & (ushort)PackedDescFlags.Indirect) != 0)
            {
                ReportFault(QueueError.IndirectWithNext);
                return NoChain(out chain);
            }

            if (count == Size)
            {
                ReportFault(QueueError.ChainTooLong);
                return NoChain(out chain);
            }

            if (++slot == Size)
            {
                slot = 0;
                wrap = !wrap;
            }

            flags = LittleEndian.ToHost(*(ushort*)((byte*)(_ring + slot) + PackedDesc.FlagsOffset));
            if (!IsAvailable(flags, wrap))
            {
                ReportFault(QueueError.ChainIncomplete);
                return NoChain(out chain);
            }

            count++;
        }

        if ((flags & (ushort)PackedDescFlags.Indirect) != 0 && count > 1)
        {
            ReportFault(QueueError.IndirectWithNext);
            return NoChain(out chain);
        }

        var id = LittleEndian.ToHost(*(ushort*)((byte*)(_ring + slot) + PackedDesc.IdOffset));
        var first = _nextAvail;
        _poppedFrom = _nextAvail;
        _poppedFromWrap = _availWrap;
        Advance(ref _nextAvail, ref _availWrap, count);
        if (_inflight is not null && !_inflight.Popped(_ring, first, count, id, _nextAvail, _availWrap))
        {
            ReportFault(QueueError.OutstandingExceedsRing);
            return NoChain(out chain);
        }

        chain = new DescriptorChain(this, packed: true, (byte*)_ring, (uint)Size, first, count, new ChainHead(id, count));
        return true;
    }

    // The collected starts are read only as far as they were written: no need to zero them first.
    [SkipLocalsInit]
    public override void Prefetch(int chains)
    {
        // Polled on every round: with nothing available, return before the walk's stack space.
        if (IsBroken || !NextIsAvailable())
        {
            return;
        }

        // Slot by slot from the next available one, as far as the driver has made them
        // available; each buffer's address is read only after its slot's flags (acquire). The
        // buffers' lines are read after the walk, all together (see SplitQueue.Prefetch).
        var slot = _nextAvail;
        var wrap = _availWrap;
        chains = Math.Min(chains, MaxPrefetchedChains);
        var slots = (int)Math.Min(Size, (long)chains * PrefetchedBuffersPerChain);
        var starts = stackalloc CacheLines[Math.Max(slots, 0)];
        var found = 0;
        for (var walked = 0; walked < slots && chains > 0; walked++)
        {
            var flags = ReadFlags(slot);
            if (!IsAvailable(flags, wrap))
            {
                break;
            }

            if ((flags & (ushort)(PackedDescFlags.Indirect | PackedDescFlags.Write)) == 0)
            {
                var descriptor = _ring[slot];
                if (Memory.TryLocateStart(descriptor.Addr, descriptor.Len, out starts[found]))
                {
                    found++;
                }
            }

            if ((flags & (ushort)PackedDescFlags.Next) == 0)
            {
                chains--;
            }

            Advance(ref slot, ref wrap, 1);
        }

        for (var i = 0; i < found; i++)
        {
            starts[i].Touch();
        }
    }

    public override void UndoLastPop()
    {
        if (_inflight is not null && LastPopResubmitted)
        {
            UndoResubmission();
            return;
        }

        _nextAvail = _poppedFrom;
        _availWrap = _poppedFromWrap;
        _inflight?.Unpopped(_nextAvail, _availWrap);
    }

    public override void AddUsed(ChainHead head, uint writtenBytes)
    {
        if (head.RingDescriptors == 0 || head.RingDescriptors > Size)
        {
            throw BadHead(head);
        }

        // A used descriptor carries AVAIL and USED both equal to the used wrap counter, and WRITE
        // when the device wrote into the buffer (§2.8.6).
        var flags = (ushort)((_usedWrap ? (ushort)(PackedDescFlags.Avail | PackedDescFlags.Used) : 0)
            | (writtenBytes != 0 ? (ushort)PackedDescFlags.Write : 0));
        if (!_batchOpen)
        {
            // The batch's first element is published last (PublishUsed), so the driver, which reads
            // in ring order, sees the whole batch at once.
            _batchOpen = true;
            _batchHeadSlot = _nextUsed;
            _batchHeadFlags = flags;
        }

        if (_unwrittenCount == _unwritten.Length)
        {
            WriteUnwritten();
        }

        _unwritten[_unwrittenCount++] = new UnwrittenUsed(_nextUsed, head.Id, writtenBytes, flags);
        _inflight?.Used(head.Id);
        Advance(ref _nextUsed, ref _usedWrap, head.RingDescriptors);
    }

    public override void PublishUsed()
    {
        if (!_batchOpen)
        {
            return;
        }

        WriteUnwritten();

        // Release: every element of the batch (written above) is visible before the first
        // element's flags hand the batch to the driver.
        Volatile.Write(ref *(ushort*)((byte*)(_ring + _batchHeadSlot) + PackedDesc.FlagsOffset), LittleEndian.FromHost(_batchHeadFlags));
        _batchOpen = false;
        _publishedUsed = _nextUsed;
        _publishedWrap = _usedWrap;
        _unsignalled = true;
        _inflight?.Published(_nextUsed, _usedWrap);
    }

    public override bool NeedsInterrupt()
    {
        if (!_unsignalled)
        {
            return false; // nothing new since the last answer: no barrier, no read of the driver's state
        }

        // Full barrier: the used flags must be visible before the driver's event suppression is
        // read; the driver orders its side the same way, so one of us sees the other.
        Interlocked.MemoryBarrier();

        _unsignalled = false;
        var old = _signalledUsed;
        var current = _publishedUsed;
        _signalledUsed = current;
        var mode = _driverEvent->Flags;
        if (mode == PackedEventFlags.Disable)
        {
            return false;
        }

        if (mode != PackedEventFlags.Desc || !Config.EventIdx)
        {
            return true;
        }

        var offWrap = LittleEndian.ToHost(Volatile.Read(ref *(ushort*)((byte*)_driverEvent + PackedEventSuppression.OffWrapOffset)));
        return EventIndex.NeedsPackedEvent(offWrap, current, _publishedWrap, old, Size);
    }

    public override bool EnableNotifications()
    {
        _notificationsOff = false;
        if (Config.EventIdx)
        {
            var offWrap = (ushort)(_nextAvail | (_availWrap ? 0x8000 : 0));
            Volatile.Write(ref *(ushort*)((byte*)_deviceEvent + PackedEventSuppression.OffWrapOffset), LittleEndian.FromHost(offWrap));
            // Release: off_wrap before the mode that tells the driver to use it.
            Volatile.Write(ref *(ushort*)((byte*)_deviceEvent + PackedEventSuppression.FlagsOffset), LittleEndian.FromHost((ushort)PackedEventFlags.Desc));
        }
        else
        {
            Volatile.Write(ref *(ushort*)((byte*)_deviceEvent + PackedEventSuppression.FlagsOffset), LittleEndian.FromHost((ushort)PackedEventFlags.Enable));
        }

        // A migration copies only logged pages: the driver must find these fields as written here.
        Memory.MarkDirty(Config.DeviceArea, PackedEventSuppression.Size);

        // Full barrier: the request for notifications must be visible before the ring is looked
        // at again, or a buffer made available in between could be neither seen nor kicked.
        Interlocked.MemoryBarrier();
        return NextIsAvailable();
    }

    public override void DisableNotifications()
    {
        // Written once per polling stretch, not per round: the driver reads this line on every kick check.
        if (!_notificationsOff)
        {
            Volatile.Write(ref *(ushort*)((byte*)_deviceEvent + PackedEventSuppression.FlagsOffset), LittleEndian.FromHost((ushort)PackedEventFlags.Disable));
            Memory.MarkDirty(Config.DeviceArea, PackedEventSuppression.Size);
            _notificationsOff = true;
        }
    }

    /// <summary>The device's event suppression says Disable (only the device writes that field).</summary>
    private bool _notificationsOff;

    private void Advance(ref ushort index, ref bool wrap, ushort count) => PackedRingPosition.Advance(ref index, ref wrap, count, Size);

    /// <summary>
    /// Writes the used elements <see cref="AddUsed"/> kept, back to back: each one's id and len,
    /// then its flags, except the batch's first element's flags, which <see cref="PublishUsed"/>
    /// writes last.
    /// </summary>
    private void WriteUnwritten()
    {
        for (var i = 0; i < _unwrittenCount; i++)
        {
            ref readonly var used = ref _unwritten[i];
            var element = _ring + used.Slot;
            element->Id = used.Id;
            element->Len = used.Length;
            if (used.Slot != _batchHeadSlot)
            {
                // Release: id and len before the flags that mark the element used.
                Volatile.Write(ref *(ushort*)((byte*)element + PackedDesc.FlagsOffset), LittleEndian.FromHost(used.Flags));
            }
        }

        if (Memory.IsDirtyLogging)
        {
            for (var i = 0; i < _unwrittenCount; i++)
            {
                Memory.MarkDirty(Config.DescriptorTable + ((ulong)_unwritten[i].Slot * PackedDesc.Size), PackedDesc.Size);
            }
        }

        _unwrittenCount = 0;
    }

    private readonly record struct UnwrittenUsed(ushort Slot, ushort Id, uint Length, ushort Flags);
}
