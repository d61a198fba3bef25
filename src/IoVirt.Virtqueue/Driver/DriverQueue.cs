using IoVirt.Abi.Virtio;
using IoVirt.Memory;

namespace IoVirt.Virtqueue.Driver;

/// <summary>
/// The driver's (guest's) half of a virtqueue: places buffers, decides whether to kick, collects
/// used buffers. Used by the vhost-user front end, the tests, benchmarks and fuzzers. The ring
/// memory is shared with a device that is not trusted: ids and indices it returns are checked and
/// a bad one stops the queue with <see cref="Fault"/>. Bookkeeping lives in private arrays, never
/// in guest memory, so a device scribbling on the ring cannot corrupt it.
/// </summary>
public abstract unsafe class DriverQueue
{
    private readonly byte* _indirectTables;
    private readonly bool[] _outstanding;
    private readonly ushort[] _slotsOf;

    private protected DriverQueue(GuestMemory memory, QueueConfig config, ulong indirectArea, int indirectEntries)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (config.Size is < 1 or > SplitRingLayout.MaxQueueSize)
        {
            throw new ArgumentOutOfRangeException(nameof(config), "Queue size must be 1 to 32768.");
        }

        Memory = memory;
        Config = config;
        IndirectEntries = indirectEntries;
        IndirectArea = indirectArea;
        if (indirectEntries > 0)
        {
            Require(memory, indirectArea, IndirectBytes(config.Size, indirectEntries), out _indirectTables);
        }

        _outstanding = new bool[config.Size];
        _slotsOf = new ushort[config.Size];
    }

    public QueueConfig Config { get; }

    public int Size => Config.Size;

    public GuestMemory Memory { get; }

    /// <summary>Entries per indirect table (zero: indirect chains are not offered).</summary>
    public int IndirectEntries { get; }

    public ulong IndirectArea { get; }

    /// <summary>The first device misbehaviour seen; once set, nothing more is collected.</summary>
    public QueueError Fault { get; private protected set; }

    /// <summary>Buffers added and not yet returned by the device.</summary>
    public int Outstanding { get; private set; }

    /// <summary>Ring slots (split: descriptors) still free for direct chains.</summary>
    public abstract int FreeSlots { get; }

    /// <summary>Bytes of guest memory the indirect tables of a queue need.</summary>
    public static ulong IndirectBytes(int size, int entries) => (ulong)size * (ulong)entries * VirtqDesc.Size;

    /// <summary>
    /// Places one chain of <paramref name="buffers"/> (device-readable ones first), through an
    /// indirect table when <paramref name="indirect"/>. False when the ring has no room; the
    /// device sees it after <see cref="PublishAvail"/>.
    /// </summary>
    public abstract bool TryAdd(ReadOnlySpan<DriverBuffer> buffers, bool indirect, out ushort id);

    /// <summary>Makes every chain added since the last call visible to the device at once.</summary>
    public abstract void PublishAvail();

    /// <summary>After <see cref="PublishAvail"/>: whether the device asked to be notified for what was published since the last kick.</summary>
    public abstract bool NeedsKick();

    /// <summary>Takes the next buffer the device returned: its id and the bytes the device wrote.</summary>
    public abstract bool TryTakeUsed(out ushort id, out uint writtenBytes);

    /// <summary>Asks for interrupts, then looks again: true means used buffers are already waiting.</summary>
    public abstract bool EnableInterrupts();

    /// <summary>Tells the device interrupts are not needed (the driver is polling).</summary>
    public abstract void DisableInterrupts();

    /// <summary>Writes <paramref name="buffers"/> as an indirect table for buffer <paramref name="id"/>; returns the table's guest address and length.</summary>
    private protected (ulong Address, uint Length) WriteIndirectTable(ushort id, ReadOnlySpan<DriverBuffer> buffers, bool packedLayout)
    {
        if (buffers.Length > IndirectEntries)
        {
            throw new ArgumentException($"{buffers.Length} buffers do not fit an indirect table of {IndirectEntries} entries.", nameof(buffers));
        }

        var offset = (ulong)id * (ulong)IndirectEntries * VirtqDesc.Size;
        var table = _indirectTables + offset;
        for (var i = 0; i < buffers.Length; i++)
        {
            var b = buffers[i];
            var flags = b.IsWritable ? VirtqDescFlags.Write : VirtqDescFlags.None;
            if (packedLayout)
            {
                // Packed indirect tables are sequential; NEXT has no meaning there.
                var d = (PackedDesc*)table + i;
                d->Addr = b.Address;
                d->Len = b.Length;
                d->Id = 0;
                d->Flags = (PackedDescFlags)flags;
            }
            else
            {
                var d = (VirtqDesc*)table + i;
                d->Addr = b.Address;
                d->Len = b.Length;
                d->Flags = flags | (i + 1 < buffers.Length ? VirtqDescFlags.Next : VirtqDescFlags.None);
                d->Next = (ushort)(i + 1 < buffers.Length ? i + 1 : 0);
            }
        }

        return (IndirectArea + offset, (uint)(buffers.Length * VirtqDesc.Size));
    }

    /// <summary>Records buffer <paramref name="id"/> as handed to the device, occupying <paramref name="slots"/> ring slots.</summary>
    private protected void MarkOutstanding(ushort id, ushort slots)
    {
        _outstanding[id] = true;
        _slotsOf[id] = slots;
        Outstanding++;
    }

    /// <summary>Takes buffer <paramref name="id"/> back from the device; false (and a fault) when it was not outstanding.</summary>
    private protected bool TryRetire(uint id, out ushort slots)
    {
        slots = 0;
        if (id >= (uint)Size || !_outstanding[id])
        {
            Fault = QueueError.UsedIdInvalid;
            return false;
        }

        _outstanding[id] = false;
        slots = _slotsOf[id];
        Outstanding--;
        return true;
    }

    /// <summary>
    /// Takes [<paramref name="address"/>, +<paramref name="length"/>) as this driver's own, zeroed
    /// as a fresh driver's memory is (Linux allocates its rings zeroed): whatever a previous driver
    /// left there (an avail index, chains, descriptor flags) would otherwise read as ours.
    /// </summary>
    private protected static void Require(GuestMemory memory, ulong address, ulong length, out byte* host)
    {
        if (memory.TryGetPointer(address, length, out host) != MemoryFault.None)
        {
            throw new ArgumentException($"0x{length:x} bytes at guest address 0x{address:x} are not inside one guest memory region.");
        }

        new Span<byte>(host, checked((int)length)).Clear();
    }
}
