using IoVirt.Abi.Virtio;
using IoVirt.Memory;

namespace IoVirt.Virtqueue.Driver;

/// <summary>Driver side of a split virtqueue (virtio 1.2 §2.7.13 and §2.7.14).</summary>
public sealed unsafe class SplitDriverQueue : DriverQueue
{
    private readonly ushort _mask;
    private readonly VirtqDesc* _descriptors;
    private readonly byte* _avail;
    private readonly byte* _used;
    private readonly ushort[] _next;
    private ushort _freeHead;
    private int _freeCount;
    private ushort _availIdx;
    private ushort _publishedAvail;
    private ushort _kickedAvail;
    private ushort _lastUsed;

    /// <summary>
    /// Takes over a queue laid out by <paramref name="config"/>; indirect tables of
    /// <paramref name="indirectEntries"/> entries each live at <paramref name="indirectArea"/>
    /// (<see cref="DriverQueue.IndirectBytes"/> long), when that is not zero.
    /// </summary>
    public SplitDriverQueue(GuestMemory memory, QueueConfig config, ulong indirectArea = 0, int indirectEntries = 0)
        : base(memory, config, indirectArea, indirectEntries)
    {
        if ((config.Size & (config.Size - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(config), "A split queue's size must be a power of two.");
        }

        _mask = (ushort)(config.Size - 1);
        Require(memory, config.DescriptorTable, SplitRingLayout.DescriptorTableSize(config.Size), out var descriptors);
        Require(memory, config.DriverArea, VirtqAvail.TotalSize(config.Size), out _avail);
        Require(memory, config.DeviceArea, VirtqUsed.TotalSize(config.Size), out _used);
        _descriptors = (VirtqDesc*)descriptors;
        _next = new ushort[config.Size];
        for (var i = 0; i < config.Size; i++)
        {
            _next[i] = (ushort)(i + 1);
        }

        _freeCount = config.Size;
    }

    public override int FreeSlots => _freeCount;

    private ushort* AvailIdx => (ushort*)(_avail + VirtqAvail.IdxOffset);

    private ushort* UsedIdx => (ushort*)(_used + VirtqUsed.IdxOffset);

    public override bool TryAdd(ReadOnlySpan<DriverBuffer> buffers, bool indirect, out ushort id)
    {
        id = 0;
        if (buffers.IsEmpty)
        {
            throw new ArgumentException("A chain needs at least one buffer.", nameof(buffers));
        }

        var needed = indirect ? 1 : buffers.Length;
        if (needed > _freeCount)
        {
            return false;
        }

        var head = _freeHead;
        if (indirect)
        {
            var (address, length) = WriteIndirectTable(head, buffers, packedLayout: false);
            var d = _descriptors + head;
            d->Addr = address;
            d->Len = length;
            d->Flags = VirtqDescFlags.Indirect;
            d->Next = 0;
            _freeHead = _next[head];
        }
        else
        {
            var index = head;
            for (var i = 0; i < buffers.Length; i++)
            {
                var b = buffers[i];
                var last = i == buffers.Length - 1;
                var d = _descriptors + index;
                d->Addr = b.Address;
                d->Len = b.Length;
                d->Flags = (b.IsWritable ? VirtqDescFlags.Write : VirtqDescFlags.None) | (last ? VirtqDescFlags.None : VirtqDescFlags.Next);
                d->Next = last ? (ushort)0 : _next[index];
                if (!last)
                {
                    index = _next[index];
                }
            }

            _freeHead = _next[index];
        }

        _freeCount -= needed;
        MarkOutstanding(head, (ushort)needed);
        ((ushort*)(_avail + VirtqAvail.RingOffset))[_availIdx & _mask] = LittleEndian.FromHost(head);
        _availIdx = unchecked((ushort)(_availIdx + 1));
        id = head;
        return true;
    }

    public override void PublishAvail()
    {
        // Release: descriptors and ring entries are visible before the index that offers them (§2.7.13.3).
        Volatile.Write(ref *AvailIdx, LittleEndian.FromHost(_availIdx));
        _publishedAvail = _availIdx;
    }

    public override bool NeedsKick()
    {
        // Full barrier: the new avail index must be visible before the device's suppression is
        // read (§2.7.13.4); the device orders its side the same way.
        Interlocked.MemoryBarrier();
        var old = _kickedAvail;
        var current = _publishedAvail;
        _kickedAvail = current;
        if (Config.EventIdx)
        {
            var availEvent = LittleEndian.ToHost(Volatile.Read(ref *(ushort*)(_used + VirtqUsed.AvailEventOffset(Size))));
            return EventIndex.NeedsEvent(availEvent, current, old);
        }

        return current != old
            && (LittleEndian.ToHost(Volatile.Read(ref *(ushort*)(_used + VirtqUsed.FlagsOffset))) & (ushort)VirtqUsedFlags.NoNotify) == 0;
    }

    public override bool TryTakeUsed(out ushort id, out uint writtenBytes)
    {
        id = 0;
        writtenBytes = 0;
        if (Fault != QueueError.None)
        {
            return false;
        }

        // Acquire: the used element is visible once the index that publishes it is.
        var usedIdx = LittleEndian.ToHost(Volatile.Read(ref *UsedIdx));
        if (usedIdx == _lastUsed)
        {
            return false;
        }

        if (unchecked((ushort)(usedIdx - _lastUsed)) > Outstanding)
        {
            Fault = QueueError.UsedIndexJump;
            return false;
        }

        var element = ((VirtqUsedElem*)(_used + VirtqUsed.RingOffset))[_lastUsed & _mask];
        if (!TryRetire(element.Id, out var slots))
        {
            return false;
        }

        _lastUsed = unchecked((ushort)(_lastUsed + 1));
        var head = (ushort)element.Id;
        var tail = head;
        for (var i = 1; i < slots; i++)
        {
            tail = _next[tail];
        }

        _next[tail] = _freeHead;
        _freeHead = head;
        _freeCount += slots;
        id = head;
        writtenBytes = element.Len;
        return true;
    }

    public override bool EnableInterrupts()
    {
        if (Config.EventIdx)
        {
            Volatile.Write(ref *(ushort*)(_avail + VirtqAvail.UsedEventOffset(Size)), LittleEndian.FromHost(_lastUsed));
        }
        else
        {
            Volatile.Write(ref *(ushort*)(_avail + VirtqAvail.FlagsOffset), LittleEndian.FromHost((ushort)VirtqAvailFlags.None));
        }

        // Full barrier: the request for interrupts must be visible before the used index is read again.
        Interlocked.MemoryBarrier();
        return LittleEndian.ToHost(Volatile.Read(ref *UsedIdx)) != _lastUsed;
    }

    public override void DisableInterrupts()
    {
        if (!Config.EventIdx)
        {
            Volatile.Write(ref *(ushort*)(_avail + VirtqAvail.FlagsOffset), LittleEndian.FromHost((ushort)VirtqAvailFlags.NoInterrupt));
        }
    }
}
