using IoVirt.Abi.Virtio;
using IoVirt.Memory;

namespace IoVirt.Virtqueue.Driver;

/// <summary>Driver side of a packed virtqueue (virtio 1.2 §2.8.21 and §2.8.22).</summary>
public sealed unsafe class PackedDriverQueue : DriverQueue
{
    private readonly PackedDesc* _ring;
    private readonly byte* _driverEvent;
    private readonly byte* _deviceEvent;
    private readonly ushort[] _freeIds;
    private int _freeIdCount;
    private int _freeSlots;
    private ushort _nextAvail;
    private bool _availWrap = true;
    private ushort _nextUsed;
    private bool _usedWrap = true;
    private bool _batchOpen;
    private ushort _batchSlot;
    private ushort _batchFlags;
    private ushort _publishedAvail;
    private bool _publishedWrap = true;
    private ushort _kickedAvail;
    private bool _unkicked;

    /// <summary>
    /// Takes over a queue laid out by <paramref name="config"/>; indirect tables of
    /// <paramref name="indirectEntries"/> entries each live at <paramref name="indirectArea"/>
    /// (<see cref="DriverQueue.IndirectBytes"/> long), when that is not zero.
    /// </summary>
    public PackedDriverQueue(GuestMemory memory, QueueConfig config, ulong indirectArea = 0, int indirectEntries = 0)
        : base(memory, config, indirectArea, indirectEntries)
    {
        Require(memory, config.DescriptorTable, PackedRingLayout.DescriptorRingSize(config.Size), out var ring);
        Require(memory, config.DriverArea, PackedEventSuppression.Size, out _driverEvent);
        Require(memory, config.DeviceArea, PackedEventSuppression.Size, out _deviceEvent);
        _ring = (PackedDesc*)ring;
        _freeIds = new ushort[config.Size];
        for (var i = 0; i < config.Size; i++)
        {
            _freeIds[i] = (ushort)(config.Size - 1 - i);
        }

        _freeIdCount = config.Size;
        _freeSlots = config.Size;
    }

    public override int FreeSlots => _freeSlots;

    /// <summary>Flags that make a slot available in the current lap: AVAIL equal to the wrap counter, USED its inverse.</summary>
    private static ushort AvailBits(bool wrap) => (ushort)(wrap ? PackedDescFlags.Avail : PackedDescFlags.Used);

    private static ushort* FlagsOf(PackedDesc* d) => (ushort*)((byte*)d + PackedDesc.FlagsOffset);

    public override bool TryAdd(ReadOnlySpan<DriverBuffer> buffers, bool indirect, out ushort id)
    {
        id = 0;
        if (buffers.IsEmpty)
        {
            throw new ArgumentException("A chain needs at least one buffer.", nameof(buffers));
        }

        var needed = indirect ? 1 : buffers.Length;
        if (needed > _freeSlots || _freeIdCount == 0)
        {
            return false;
        }

        id = _freeIds[--_freeIdCount];
        var headSlot = _nextAvail;
        ushort headFlags;
        if (indirect)
        {
            var (address, length) = WriteIndirectTable(id, buffers, packedLayout: true);
            var d = _ring + _nextAvail;
            d->Addr = address;
            d->Len = length;
            d->Id = id;
            headFlags = (ushort)((ushort)PackedDescFlags.Indirect | AvailBits(_availWrap));
            Step();
        }
        else
        {
            headFlags = 0;
            for (var i = 0; i < buffers.Length; i++)
            {
                var b = buffers[i];
                var d = _ring + _nextAvail;
                d->Addr = b.Address;
                d->Len = b.Length;
                d->Id = id;
                var flags = (ushort)((b.IsWritable ? (ushort)PackedDescFlags.Write : 0)
                    | (i + 1 < buffers.Length ? (ushort)PackedDescFlags.Next : 0)
                    | AvailBits(_availWrap));
                if (i == 0)
                {
                    headFlags = flags;
                }
                else
                {
                    *FlagsOf(d) = LittleEndian.FromHost(flags);
                }

                Step();
            }
        }

        if (!_batchOpen)
        {
            // The batch's first head is written last (PublishAvail), so the device sees the batch at once.
            _batchOpen = true;
            _batchSlot = headSlot;
            _batchFlags = headFlags;
        }
        else
        {
            // Release: the chain's other descriptors before the head flags that make it available.
            Volatile.Write(ref *FlagsOf(_ring + headSlot), LittleEndian.FromHost(headFlags));
        }

        _freeSlots -= needed;
        MarkOutstanding(id, (ushort)needed);
        return true;
    }

    private void Step()
    {
        if (++_nextAvail == Size)
        {
            _nextAvail = 0;
            _availWrap = !_availWrap;
        }
    }

    public override void PublishAvail()
    {
        if (!_batchOpen)
        {
            return;
        }

        // Release: every chain of the batch is visible before the first head's flags (§2.8.21).
        Volatile.Write(ref *FlagsOf(_ring + _batchSlot), LittleEndian.FromHost(_batchFlags));
        _batchOpen = false;
        _publishedAvail = _nextAvail;
        _publishedWrap = _availWrap;
        _unkicked = true;
    }

    public override bool NeedsKick()
    {
        // Full barrier: the published flags must be visible before the device's suppression is read.
        Interlocked.MemoryBarrier();
        if (!_unkicked)
        {
            return false;
        }

        _unkicked = false;
        var old = _kickedAvail;
        _kickedAvail = _publishedAvail;
        var mode = (PackedEventFlags)(LittleEndian.ToHost(Volatile.Read(ref *(ushort*)(_deviceEvent + PackedEventSuppression.FlagsOffset))) & 3);
        if (mode == PackedEventFlags.Disable)
        {
            return false;
        }

        if (mode != PackedEventFlags.Desc || !Config.EventIdx)
        {
            return true;
        }

        var offWrap = LittleEndian.ToHost(Volatile.Read(ref *(ushort*)(_deviceEvent + PackedEventSuppression.OffWrapOffset)));
        return EventIndex.NeedsPackedEvent(offWrap, _publishedAvail, _publishedWrap, old, Size);
    }

    private bool IsUsed(ushort flags) =>
        ((flags & (ushort)PackedDescFlags.Avail) != 0) == _usedWrap && ((flags & (ushort)PackedDescFlags.Used) != 0) == _usedWrap;

    public override bool TryTakeUsed(out ushort id, out uint writtenBytes)
    {
        id = 0;
        writtenBytes = 0;
        if (Fault != QueueError.None)
        {
            return false;
        }

        // Acquire: id and len of a used element are visible once its flags say it is used.
        var d = _ring + _nextUsed;
        if (!IsUsed(LittleEndian.ToHost(Volatile.Read(ref *FlagsOf(d)))))
        {
            return false;
        }

        var usedId = d->Id;
        if (!TryRetire(usedId, out var slots))
        {
            return false;
        }

        writtenBytes = d->Len;
        var next = _nextUsed + slots;
        if (next >= Size)
        {
            next -= Size;
            _usedWrap = !_usedWrap;
        }

        _nextUsed = (ushort)next;
        _freeIds[_freeIdCount++] = usedId;
        _freeSlots += slots;
        id = usedId;
        return true;
    }

    public override bool EnableInterrupts()
    {
        if (Config.EventIdx)
        {
            var offWrap = (ushort)(_nextUsed | (_usedWrap ? 0x8000 : 0));
            Volatile.Write(ref *(ushort*)(_driverEvent + PackedEventSuppression.OffWrapOffset), LittleEndian.FromHost(offWrap));
            Volatile.Write(ref *(ushort*)(_driverEvent + PackedEventSuppression.FlagsOffset), LittleEndian.FromHost((ushort)PackedEventFlags.Desc));
        }
        else
        {
            Volatile.Write(ref *(ushort*)(_driverEvent + PackedEventSuppression.FlagsOffset), LittleEndian.FromHost((ushort)PackedEventFlags.Enable));
        }

        // Full barrier: the request for interrupts must be visible before the ring is read again.
        Interlocked.MemoryBarrier();
        return IsUsed(LittleEndian.ToHost(Volatile.Read(ref *FlagsOf(_ring + _nextUsed))));
    }

    public override void DisableInterrupts() =>
        Volatile.Write(ref *(ushort*)(_driverEvent + PackedEventSuppression.FlagsOffset), LittleEndian.FromHost((ushort)PackedEventFlags.Disable));
}
