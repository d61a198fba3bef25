using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Virtqueue.Packed;

/// <summary>
/// Inflight I/O tracking of one packed queue in the area shared with the front end (vhost-user
/// INFLIGHT_SHMFD). The front end keeps the area opaque, so this layout is the back end's own
/// (the spec's QueueRegionPacked is one way to do it): a header with the device's ring positions,
/// then a pool of one node per ring slot, each holding a copy of one descriptor and a link. A
/// popped chain's descriptors are copied into free nodes, linked from its head node, because used
/// elements may overwrite the ring, and once a later chain completes the driver may reuse a slot
/// of a chain still in flight: nothing here is indexed by ring slot. A resubmitted chain is walked
/// from these copies. Completions are pending until their batch is published, and each records
/// where its batch's first used element goes, so recovery can tell a published batch (done) from
/// one that never reached the driver (still in flight), at any point of the publication: none is
/// lost, none completes twice. The header records where the driver's next chain starts together
/// with the pop counter of the chain before it, in one store: a chain whose pop the header does
/// not cover yet is still offered by the ring, and recovery leaves it there instead of
/// resubmitting it too. Recovery itself may be cut short and run again. Everything read back from
/// the area is bounds-checked.
/// </summary>
public sealed unsafe class PackedInflightTracker : InflightTracker
{
    /// <summary>Bytes of the header before the nodes: the ring positions.</summary>
    public const int HeaderSize = 32;

    private const ushort CurrentVersion = 3;
    private const byte Free = 0;
    private const byte InFlight = 1;
    private const byte Completed = 2;

    private readonly Header* _header;
    private readonly Node* _nodes;
    private readonly PackedDesc* _copies;
    private readonly int _size;
    private readonly ushort[] _headOfId = new ushort[65536];
    private readonly ushort[] _freeNodes;
    private readonly List<ushort> _pending;
    private readonly PackedDesc[] _resubmitTable;
    private int _freeCount;
    private ushort _lastPopped;
    private ulong _counter;
    private readonly bool _newArea;

    /// <summary>Tracks a queue of <paramref name="queueSize"/> in <paramref name="area"/> (<see cref="AreaSize"/> bytes), initialising an area never used.</summary>
    public PackedInflightTracker(byte* area, int queueSize)
    {
        _header = (Header*)area;
        _nodes = (Node*)(area + HeaderSize);
        _copies = (PackedDesc*)(area + HeaderSize + (sizeof(Node) * queueSize));
        _size = queueSize;
        _pending = new List<ushort>(queueSize);
        _freeNodes = new ushort[queueSize];
        _resubmitTable = GC.AllocateArray<PackedDesc>(queueSize, pinned: true);
        if (_header->Version == 0)
        {
            _newArea = true;
            _header->DescriptorCount = (ushort)queueSize;
            _header->Used = PackedPosition(0, true);
            _header->Popped = PoppedRecord(0, true, 0);
            _header->Version = CurrentVersion;
        }

        FreeAllBut([]);
    }

    /// <summary>
    /// True while the area holds no record of the ring: it was new when this tracker began and
    /// nothing was popped since. A live migration's destination gets such an area; its ring goes
    /// on from SET_VRING_BASE (<see cref="Adopt"/>), which the area knows nothing of.
    /// </summary>
    internal bool RecordsNothing => _newArea && _counter == 0;

    /// <summary>Records <paramref name="position"/> as where the ring stands, in an area that records nothing yet.</summary>
    internal void Adopt(QueuePosition position)
    {
        Volatile.Write(ref _header->Popped, PoppedRecord(position.NextAvail, position.AvailWrap, _counter));
        Volatile.Write(ref _header->Used, PackedPosition(position.NextUsed, position.UsedWrap));
    }

    /// <summary>Bytes one queue's area takes, rounded to 64.</summary>
    public static int AreaSize(int queueSize) => (HeaderSize + ((sizeof(Node) + PackedDesc.Size) * queueSize) + 63) & ~63;

    /// <summary>False when the area describes another queue size or version.</summary>
    public override bool Matches => _header->Version == CurrentVersion && _header->DescriptorCount == _size;

    /// <summary>The table resubmitted chains are walked from: each chain's descriptors in order, one chain after another.</summary>
    internal byte* ResubmitTable => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_resubmitTable));

    /// <summary>
    /// Records a popped chain of <paramref name="count"/> ring slots from <paramref name="first"/>.
    /// False when the pool has too few nodes: the driver made available more descriptors than the
    /// ring holds while the device still held them, which an honest driver never does.
    /// </summary>
    internal bool Popped(PackedDesc* ring, ushort first, ushort count, ushort id, ushort nextAvail, bool nextAvailWrap)
    {
        if (count > _freeCount)
        {
            return false;
        }

        var head = _freeNodes[_freeCount - 1];
        for (int i = 0, slot = first; i < count; i++, slot = slot + 1 == _size ? 0 : slot + 1)
        {
            var node = _freeNodes[--_freeCount];
            _copies[node] = ring[slot];
            if (i + 1 < count)
            {
                _nodes[node].Next = _freeNodes[_freeCount - 1];
            }
        }

        ref var entry = ref _nodes[head];
        entry.Count = count;
        entry.Id = id;
        entry.Counter = ++_counter;
        _headOfId[id] = head;
        _lastPopped = head;
        // The state after the copies, so a crash never leaves an in-flight head without them; the
        // header after the state: until it covers this counter, recovery leaves the chain to the ring.
        Volatile.Write(ref entry.State, InFlight);
        Volatile.Write(ref _header->Popped, PoppedRecord(nextAvail, nextAvailWrap, _counter));
        return true;
    }

    /// <summary>Forgets the chain popped last (the device put it back).</summary>
    internal void Unpopped(ushort nextAvail, bool nextAvailWrap)
    {
        // The header first: from then on the chain's counter is beyond it, so a crash before the
        // state is freed leaves the chain to the ring, as after it.
        Volatile.Write(ref _header->Popped, PoppedRecord(nextAvail, nextAvailWrap, --_counter));
        Volatile.Write(ref _nodes[_lastPopped].State, Free);
        Release(_lastPopped);
    }

    /// <summary>Records a completion, still pending until its batch (which starts at the header's used position) is published.</summary>
    internal void Used(ushort id)
    {
        var head = _headOfId[id];
        if (_nodes[head].State == InFlight && _nodes[head].Id == id)
        {
            _nodes[head].BatchHead = _header->Used;
            Volatile.Write(ref _nodes[head].State, Completed);
            _pending.Add(head);
        }
    }

    /// <summary>After a batch reached the driver: the device's used position, and the batch's chains are done.</summary>
    internal void Published(ushort nextUsed, bool nextUsedWrap)
    {
        Volatile.Write(ref _header->Used, PackedPosition(nextUsed, nextUsedWrap));
        foreach (var head in _pending)
        {
            Volatile.Write(ref _nodes[head].State, Free);
            Release(head);
        }

        _pending.Clear();
    }

    /// <summary>
    /// At ring start: decides whether the batch a previous back end was publishing reached the
    /// driver (its first used element is marked used in <paramref name="ring"/>), then returns the
    /// chains still in flight in pop order, as places in <see cref="ResubmitTable"/>, and the
    /// positions to go on from. A chain whose nodes do not check out is dropped.
    /// </summary>
    internal (ushort NextAvail, bool AvailWrap, ushort NextUsed, bool UsedWrap) Recover(PackedDesc* ring, List<ResubmittedChain> resubmit)
    {
        var (used, usedWrap) = Unpack(_header->Used);
        var (avail, availWrap, recorded) = UnpackPopped(_header->Popped);
        if (used >= _size || avail >= _size)
        {
            used = avail = 0;
            usedWrap = availWrap = true;
        }

        // A chain popped beyond the header's counter is still offered by the ring: it is not ours.
        var claimed = new bool[_size];
        for (var i = 0; i < _size; i++)
        {
            ref var node = ref _nodes[i];
            if (node.State is not (InFlight or Completed) || (node.State == InFlight && node.Counter > recorded) || !TryClaim((ushort)i, claimed))
            {
                node.State = Free;
            }
        }

        // The batch that was being published when the previous back end stopped, if any: published
        // means its first element reached the driver; the header may or may not say so yet.
        var batch = PendingBatch();
        var batchPublished = batch.Head is { } head && IsPublished(ring, head);
        if (batch.Head is { } start && (!batchPublished || _header->Used == start))
        {
            (used, usedWrap) = Unpack(start);
            if (batchPublished)
            {
                PackedRingPosition.Advance(ref used, ref usedWrap, batch.Slots, _size);
            }
        }

        // The used position before the published batch's chains are freed: cut short after this,
        // recovery runs again to the same outcome (the header already past the batch says it was published).
        _header->Used = PackedPosition(used, usedWrap);
        var order = new List<(ulong Counter, ushort Head)>();
        for (var i = 0; i < _size; i++)
        {
            ref var node = ref _nodes[i];
            if (node.State == Completed && batchPublished && node.BatchHead == batch.Head)
            {
                node.State = Free;
                Unclaim((ushort)i, node.Count, claimed);
            }
            else if (node.State != Free)
            {
                node.State = InFlight;
                order.Add((node.Counter, (ushort)i));
            }
        }

        ClearHeldSlots(ring, used, usedWrap, avail, availWrap);
        FreeAllBut(claimed);
        order.Sort();
        _counter = recorded;
        resubmit.Clear();
        var place = 0;
        foreach (var (_, chainHead) in order)
        {
            ref var node = ref _nodes[chainHead];
            resubmit.Add(new ResubmittedChain((ushort)place, node.Count, node.Id));
            _headOfId[node.Id] = chainHead;
            for (int k = 0, n = chainHead; k < node.Count; k++, n = _nodes[n].Next)
            {
                _resubmitTable[place++] = _copies[n];
            }
        }

        return (avail, availWrap, used, usedWrap);
    }

    /// <summary>Claims the nodes of the chain headed at <paramref name="head"/>; false, claiming none, when a link leaves the pool or meets a node already claimed.</summary>
    private bool TryClaim(ushort head, bool[] claimed)
    {
        var count = _nodes[head].Count;
        if (count is 0 || count > _size)
        {
            return false;
        }

        int node = head;
        for (var k = 0; k < count; k++, node = _nodes[node].Next)
        {
            if (node >= _size || claimed[node])
            {
                Unclaim(head, (ushort)k, claimed);
                return false;
            }

            claimed[node] = true;
        }

        return true;
    }

    private void Unclaim(ushort head, ushort count, bool[] claimed)
    {
        for (int k = 0, node = head; k < count; k++, node = _nodes[node].Next)
        {
            claimed[node] = false;
        }
    }

    /// <summary>Puts the nodes of the chain headed at <paramref name="head"/> back in the pool.</summary>
    private void Release(ushort head)
    {
        for (int k = 0, node = head; k < _nodes[head].Count; k++, node = _nodes[node].Next)
        {
            _freeNodes[_freeCount++] = (ushort)node;
        }
    }

    /// <summary>Makes the pool every node not <paramref name="claimed"/> (all of them when it is empty).</summary>
    private void FreeAllBut(bool[] claimed)
    {
        _freeCount = 0;
        for (var i = _size - 1; i >= 0; i--)
        {
            if (claimed.Length == 0 || !claimed[i])
            {
                _freeNodes[_freeCount++] = (ushort)i;
            }
        }
    }

    /// <summary>The used position of the completed, unpublished batch (of the claimed chains) and the ring slots its chains take; no head when there is none.</summary>
    private (ushort? Head, int Slots) PendingBatch()
    {
        ushort? head = null;
        var slots = 0;
        for (var i = 0; i < _size; i++)
        {
            ref var node = ref _nodes[i];
            if (node.State != Completed || Unpack(node.BatchHead).Index >= _size)
            {
                continue;
            }

            head ??= node.BatchHead;
            if (node.BatchHead == head)
            {
                slots += node.Count;
            }
        }

        return (head, slots);
    }

    /// <summary>
    /// Whether the used element at <paramref name="position"/> reached the driver. Only the USED
    /// flag is read: once the driver has taken the element it may make the slot available again,
    /// which flips AVAIL but leaves USED equal to the element's wrap counter, as publishing set it;
    /// a slot the device still holds has USED opposite to it.
    /// </summary>
    private bool IsPublished(PackedDesc* ring, ushort position)
    {
        var (slot, wrap) = Unpack(position);
        var flags = LittleEndian.ToHost(*(ushort*)((byte*)(ring + slot) + PackedDesc.FlagsOffset));
        return ((flags & (ushort)PackedDescFlags.Used) != 0) == wrap;
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

    /// <summary>The next available position (low 16 bits) and the counter of the chain popped last before it, as one word.</summary>
    private static ulong PoppedRecord(ushort index, bool wrap, ulong counter) => (counter << 16) | PackedPosition(index, wrap);

    private static (ushort Index, bool Wrap, ulong Counter) UnpackPopped(ulong record)
    {
        var (index, wrap) = Unpack(unchecked((ushort)record));
        return (index, wrap, record >> 16);
    }

    private static (ushort Index, bool Wrap) Unpack(ushort position) => ((ushort)(position & 0x7fff), (position & 0x8000) != 0);

    [StructLayout(LayoutKind.Sequential, Size = HeaderSize)]
    private struct Header
    {
        public ulong Features;
        public ushort Version;
        public ushort DescriptorCount;
        public ushort Reserved;
        public ushort Used;

        /// <summary><see cref="PoppedRecord"/>: written in one store, so position and counter always agree.</summary>
        public ulong Popped;
    }

    /// <summary>One descriptor's place in the pool; a chain's head node also describes the chain.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 24)]
    private struct Node
    {
        public byte State;
        public byte Reserved;
        public ushort Count;
        public ushort Id;
        public ushort BatchHead;
        public ushort Next;
        public ulong Counter;
    }
}
