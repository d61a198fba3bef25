using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Virtqueue.Packed;

/// <summary>
/// Inflight I/O tracking of one packed queue in the area shared with the front end (vhost-user
/// INFLIGHT_SHMFD). The front end keeps the area opaque, so this layout is the back end's own
/// (the spec gives its QueueRegionPacked as one way to do it): a header with the device's ring
/// positions, a state entry per ring slot, and a shadow copy of the ring. A popped chain's ring
/// descriptors are copied to the shadow at the same slots, because used elements may overwrite
/// the ring itself; a resubmitted chain is walked from the shadow. Completions are marked
/// pending until their batch is published, so recovery can tell a published batch (done) from
/// one that never reached the driver (still in flight): none is lost, none completes twice.
/// Everything read back from the area is bounds-checked.
/// </summary>
public sealed unsafe class PackedInflightTracker : InflightTracker
{
    private const ushort CurrentVersion = 1;
    private const byte Free = 0;
    private const byte InFlight = 1;
    private const byte Completed = 2;

    private readonly Header* _header;
    private readonly Entry* _entries;
    private readonly PackedDesc* _shadow;
    private readonly int _size;
    private readonly ushort[] _slotOfId = new ushort[65536];
    private readonly List<ushort> _pending;
    private ulong _counter;

    /// <summary>Tracks a queue of <paramref name="queueSize"/> in <paramref name="area"/> (<see cref="AreaSize"/> bytes), initialising an area never used.</summary>
    public PackedInflightTracker(byte* area, int queueSize)
    {
        _header = (Header*)area;
        _entries = (Entry*)(area + sizeof(Header));
        _shadow = (PackedDesc*)(area + sizeof(Header) + (sizeof(Entry) * queueSize));
        _size = queueSize;
        _pending = new List<ushort>(queueSize);
        if (_header->Version == 0)
        {
            _header->DescriptorCount = (ushort)queueSize;
            _header->NextAvail = _header->Used = PackedPosition(0, true);
            _header->Version = CurrentVersion;
        }
    }

    /// <summary>Bytes one queue's area takes, rounded to 64.</summary>
    public static int AreaSize(int queueSize) => (sizeof(Header) + ((sizeof(Entry) + PackedDesc.Size) * queueSize) + 63) & ~63;

    /// <summary>False when the area describes another queue size or version.</summary>
    public override bool Matches => _header->Version == CurrentVersion && _header->DescriptorCount == _size;

    /// <summary>The shadow ring that resubmitted chains are walked from.</summary>
    internal byte* Shadow => (byte*)_shadow;

    internal void Popped(PackedDesc* ring, ushort first, ushort count, ushort id, ushort nextAvail, bool nextAvailWrap)
    {
        for (int i = 0, slot = first; i < count; i++, slot = slot + 1 == _size ? 0 : slot + 1)
        {
            _shadow[slot] = ring[slot];
        }

        ref var entry = ref _entries[first];
        entry.Count = count;
        entry.Id = id;
        entry.Counter = ++_counter;
        _slotOfId[id] = first;
        // The state is written last, so a crash never leaves an in-flight entry without its copy.
        Volatile.Write(ref entry.State, InFlight);
        Volatile.Write(ref _header->NextAvail, PackedPosition(nextAvail, nextAvailWrap));
    }

    internal void Unpopped(ushort first, ushort nextAvail, bool nextAvailWrap)
    {
        Volatile.Write(ref _entries[first].State, Free);
        Volatile.Write(ref _header->NextAvail, PackedPosition(nextAvail, nextAvailWrap));
    }

    /// <summary>Records a completion, still pending until its batch is published.</summary>
    internal void Used(ushort id)
    {
        var slot = _slotOfId[id];
        if (_entries[slot].State == InFlight && _entries[slot].Id == id)
        {
            Volatile.Write(ref _entries[slot].State, Completed);
            _pending.Add(slot);
        }
    }

    /// <summary>After a batch reached the driver: the device's used position, and the batch's chains are done.</summary>
    internal void Published(ushort nextUsed, bool nextUsedWrap)
    {
        Volatile.Write(ref _header->Used, PackedPosition(nextUsed, nextUsedWrap));
        foreach (var slot in _pending)
        {
            Volatile.Write(ref _entries[slot].State, Free);
        }

        _pending.Clear();
    }

    /// <summary>
    /// At ring start: decides whether the batch a previous back end was publishing reached the
    /// driver (its first used element is marked used in <paramref name="ring"/>), then returns the
    /// chains still in flight in pop order as (first slot, slots, id), and the positions to go on from.
    /// </summary>
    internal (ushort NextAvail, bool AvailWrap, ushort NextUsed, bool UsedWrap) Recover(PackedDesc* ring, List<ResubmittedChain> resubmit)
    {
        var (used, usedWrap) = Unpack(_header->Used);
        var (avail, availWrap) = Unpack(_header->NextAvail);
        if (used >= _size || avail >= _size)
        {
            used = avail = 0;
            usedWrap = availWrap = true;
        }

        var firstFlags = LittleEndian.ToHost(*(ushort*)((byte*)(ring + used) + PackedDesc.FlagsOffset));
        var batchPublished = ((firstFlags & (ushort)PackedDescFlags.Avail) != 0) == usedWrap && ((firstFlags & (ushort)PackedDescFlags.Used) != 0) == usedWrap;
        var order = new List<(ulong Counter, ushort Slot)>();
        for (var i = 0; i < _size; i++)
        {
            ref var entry = ref _entries[i];
            if (entry.State == Completed && batchPublished)
            {
                var next = used + entry.Count;
                if (next >= _size)
                {
                    next -= _size;
                    usedWrap = !usedWrap;
                }

                used = (ushort)next;
                entry.State = Free;
            }
            else if (entry.State is InFlight or Completed && entry.Count is > 0 && entry.Count <= _size)
            {
                entry.State = InFlight;
                order.Add((entry.Counter, (ushort)i));
            }
            else
            {
                entry.State = Free;
            }
        }

        _header->Used = PackedPosition(used, usedWrap);
        ClearHeldSlots(ring, used, usedWrap, avail, availWrap);
        order.Sort();
        _counter = order.Count == 0 ? 0 : order[^1].Counter;
        resubmit.Clear();
        foreach (var (_, slot) in order)
        {
            resubmit.Add(new ResubmittedChain(slot, _entries[slot].Count, _entries[slot].Id));
            _slotOfId[_entries[slot].Id] = slot;
        }

        return (avail, availWrap, used, usedWrap);
    }

    /// <summary>
    /// Makes every slot the device holds (popped, not yet used: from the used position to the
    /// available one) read as not used. A batch that never reached the driver has its later
    /// elements marked used already (its first is published last); left so, the driver would take
    /// them as completions as soon as the first resubmitted chain is published ahead of them, and
    /// the chains would complete again when their resubmissions finish.
    /// </summary>
    private void ClearHeldSlots(PackedDesc* ring, ushort used, bool usedWrap, ushort avail, bool availWrap)
    {
        var (slot, wrap) = (used, usedWrap);
        for (var n = 0; n < _size && (slot != avail || wrap != availWrap); n++)
        {
            // Used means AVAIL and USED both equal to the wrap counter: a USED bit opposite to it never is.
            var flags = (ushort*)((byte*)(ring + slot) + PackedDesc.FlagsOffset);
            var value = LittleEndian.ToHost(*flags);
            value = wrap ? (ushort)(value & ~(ushort)PackedDescFlags.Used) : (ushort)(value | (ushort)PackedDescFlags.Used);
            Volatile.Write(ref *flags, LittleEndian.FromHost(value));
            if (++slot == _size)
            {
                (slot, wrap) = (0, !wrap);
            }
        }
    }

    private static ushort PackedPosition(ushort index, bool wrap) => (ushort)(index | (wrap ? 0x8000 : 0));

    private static (ushort Index, bool Wrap) Unpack(ushort position) => ((ushort)(position & 0x7fff), (position & 0x8000) != 0);

    [StructLayout(LayoutKind.Sequential, Size = 32)]
    private struct Header
    {
        public ulong Features;
        public ushort Version;
        public ushort DescriptorCount;
        public ushort NextAvail;
        public ushort Used;
    }

    [StructLayout(LayoutKind.Sequential, Size = 16)]
    private struct Entry
    {
        public byte State;
        public byte Reserved;
        public ushort Count;
        public ushort Id;
        public ushort Reserved2;
        public ulong Counter;
    }
}
