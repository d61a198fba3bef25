using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace IoVirt.Memory;

/// <summary>
/// An immutable snapshot of the guest's memory map: non-overlapping regions sorted by guest
/// address. Every guest address the host touches goes through <see cref="Locate"/>, which checks
/// overflow and bounds; an address outside every region yields a <see cref="MemoryFault"/>,
/// never a host access. A new map is a new snapshot (see <see cref="AtomicGuestMemory"/>);
/// snapshots share regions by reference count, and a snapshot's mappings stay valid until it is
/// released by its last holder.
/// </summary>
public sealed unsafe class GuestMemory : IDisposable
{
    private readonly GuestRegion[] _regions;
    private readonly DirtyBitmap?[]? _dirtyLogs;
    private int _references = 1;

    /// <summary>Builds a map from <paramref name="regions"/>, taking over the caller's reference to each.</summary>
    public GuestMemory(params GuestRegion[] regions)
        : this(Sorted(regions), dirtyLogs: null, shared: false)
    {
    }

    private GuestMemory(GuestRegion[] sortedRegions, DirtyBitmap?[]? dirtyLogs, bool shared)
    {
        for (var i = 1; i < sortedRegions.Length; i++)
        {
            if (sortedRegions[i].GuestAddress < sortedRegions[i - 1].GuestEnd)
            {
                throw new ArgumentException($"Guest regions at 0x{sortedRegions[i - 1].GuestAddress:x} and 0x{sortedRegions[i].GuestAddress:x} overlap.");
            }
        }

        if (shared)
        {
            foreach (var region in sortedRegions)
            {
                region.AddReference();
            }
        }

        _regions = sortedRegions;
        _dirtyLogs = dirtyLogs;
        foreach (var log in DistinctLogs())
        {
            log.AddReference();
        }
    }

    public ReadOnlySpan<GuestRegion> Regions => _regions;

    /// <summary>True when writes made through this snapshot are recorded in a dirty log.</summary>
    public bool IsDirtyLogging => _dirtyLogs is not null;

    /// <summary>A new snapshot with <paramref name="added"/> (whose reference it takes over) besides this one's regions.</summary>
    public GuestMemory WithRegion(GuestRegion added)
    {
        ArgumentNullException.ThrowIfNull(added);
        var regions = Sorted([.. _regions, added]);
        var next = new GuestMemory(regions, LogsFor(regions), shared: true);
        added.Release(); // the constructor took a reference of its own
        return next;
    }

    /// <summary>A new snapshot without the region that starts at <paramref name="guestAddress"/> and has <paramref name="size"/> bytes.</summary>
    public GuestMemory WithoutRegion(ulong guestAddress, ulong size)
    {
        var index = Array.FindIndex(_regions, r => r.GuestAddress == guestAddress && r.Size == size);
        if (index < 0)
        {
            throw new ArgumentException($"No region of 0x{size:x} bytes at 0x{guestAddress:x}.");
        }

        GuestRegion[] regions = [.. _regions.Where((_, i) => i != index)];
        return new GuestMemory(regions, LogsFor(regions), shared: true);
    }

    /// <summary>
    /// A new snapshot of the same regions whose writes are logged into <paramref name="logFor"/>'s
    /// bitmap for each region (null for a region that is not logged), or not logged at all when
    /// <paramref name="logFor"/> is null.
    /// </summary>
    public GuestMemory WithDirtyLog(Func<GuestRegion, DirtyBitmap?>? logFor)
    {
        DirtyBitmap?[]? logs = logFor is null ? null : Array.ConvertAll(_regions, r => logFor(r));
        return new GuestMemory(_regions, logs, shared: true);
    }

    /// <summary>
    /// The one translation from guest address to host memory. On success the range
    /// [<paramref name="address"/>, +<paramref name="length"/>) starts in region
    /// <paramref name="regionIndex"/> and its first <paramref name="contiguous"/> bytes
    /// (at most <paramref name="length"/>) lie in that region.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private MemoryFault Locate(ulong address, ulong length, out int regionIndex, out ulong contiguous)
    {
        contiguous = 0;
        regionIndex = FindRegion(address, out var region);
        if (length > ulong.MaxValue - address)
        {
            return MemoryFault.Overflow;
        }

        if (region is null)
        {
            return MemoryFault.OutOfRange;
        }

        var left = region.GuestEnd - address;
        contiguous = length < left ? length : left;
        return MemoryFault.None;
    }

    /// <summary>Binary search for the region holding <paramref name="address"/>: its index and the region itself (null and -1 when none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindRegion(ulong address, out GuestRegion? found)
    {
        var regions = _regions;
        var lo = 0;
        var hi = regions.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var region = regions[mid];
            if (address < region.GuestAddress)
            {
                hi = mid - 1;
            }
            else if (address - region.GuestAddress >= region.Size)
            {
                lo = mid + 1;
            }
            else
            {
                found = region;
                return mid;
            }
        }

        found = null;
        return -1;
    }

    /// <summary>
    /// Host address of a range that must lie in one region. A zero-length range is valid anywhere
    /// and yields a null pointer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MemoryFault TryGetPointer(ulong address, ulong length, out byte* host)
    {
        host = null;
        if (length == 0)
        {
            return MemoryFault.None;
        }

        // The same checks as Locate, in the same order, with one lookup that yields the region
        // itself: this is the translation every descriptor of every chain goes through.
        if (length > ulong.MaxValue - address)
        {
            return MemoryFault.Overflow;
        }

        _ = FindRegion(address, out var region);
        if (region is null)
        {
            return MemoryFault.OutOfRange;
        }

        var offset = address - region.GuestAddress;
        if (length > region.Size - offset)
        {
            return CheckRange(address, length) == MemoryFault.None ? MemoryFault.NotContiguous : MemoryFault.OutOfRange;
        }

        host = region.Host + offset;
        return MemoryFault.None;
    }

    /// <summary>Bytes at the start of a buffer that a prefetch brings into the cache: a small packet or header.</summary>
    public const uint PrefetchBytes = 128;

    /// <summary>
    /// Where the first <see cref="PrefetchBytes"/> of a buffer are mapped, for a prefetch that
    /// reads them into this CPU's cache (<see cref="CacheLines.Touch"/>), so that reads of several
    /// buffers another CPU just wrote wait for their cache misses together rather than one after
    /// another. False for an empty range or one that is not guest memory in one region (the
    /// access that follows reports it).
    /// </summary>
    public bool TryLocateStart(ulong address, uint length, out CacheLines start)
    {
        var span = Math.Min(length, PrefetchBytes);
        if (span == 0 || TryGetPointer(address, span, out var host) != MemoryFault.None)
        {
            start = default;
            return false;
        }

        start = new CacheLines(host, span);
        return true;
    }

    /// <summary>A span over a range that must lie in one region.</summary>
    public MemoryFault TryGetSpan(ulong address, int length, out Span<byte> span)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var fault = TryGetPointer(address, (ulong)length, out var host);
        span = fault == MemoryFault.None ? new Span<byte>(host, length) : default;
        return fault;
    }

    /// <summary>Checks that every byte of the range is guest memory, across region boundaries.</summary>
    public MemoryFault CheckRange(ulong address, ulong length)
    {
        while (length != 0)
        {
            var fault = Locate(address, length, out _, out var contiguous);
            if (fault != MemoryFault.None)
            {
                return fault;
            }

            address += contiguous;
            length -= contiguous;
        }

        return MemoryFault.None;
    }

    /// <summary>
    /// Splits a range into host segments, one per region it crosses, into <paramref name="segments"/>.
    /// Returns the number written; a range needing more segments than given fails with
    /// <see cref="MemoryFault.NotContiguous"/>. Segments are at most <see cref="int.MaxValue"/> bytes.
    /// </summary>
    public int Scatter(ulong address, ulong length, Span<HostSegment> segments, out MemoryFault fault)
    {
        // The loop checks pieces of at most int.MaxValue bytes, so the whole range's overflow is checked here.
        if (length > ulong.MaxValue - address)
        {
            fault = MemoryFault.Overflow;
            return 0;
        }

        var count = 0;
        while (length != 0)
        {
            fault = Locate(address, Math.Min(length, int.MaxValue), out var index, out var contiguous);
            if (fault != MemoryFault.None)
            {
                return count;
            }

            if (count == segments.Length)
            {
                fault = MemoryFault.NotContiguous;
                return count;
            }

            var region = _regions[index];
            segments[count++] = new HostSegment(region.Host + (address - region.GuestAddress), (int)contiguous);
            address += contiguous;
            length -= contiguous;
        }

        fault = MemoryFault.None;
        return count;
    }

    /// <summary>Copies guest memory at <paramref name="address"/> into <paramref name="destination"/>, across regions.</summary>
    public MemoryFault Read(ulong address, Span<byte> destination)
    {
        var fault = CheckRange(address, (ulong)destination.Length);
        if (fault != MemoryFault.None)
        {
            return fault;
        }

        while (!destination.IsEmpty)
        {
            _ = Locate(address, (ulong)destination.Length, out var index, out var contiguous);
            var region = _regions[index];
            new ReadOnlySpan<byte>(region.Host + (address - region.GuestAddress), (int)contiguous).CopyTo(destination);
            destination = destination[(int)contiguous..];
            address += contiguous;
        }

        return MemoryFault.None;
    }

    /// <summary>Copies <paramref name="source"/> into guest memory at <paramref name="address"/>, across regions, logging the pages written.</summary>
    public MemoryFault Write(ulong address, ReadOnlySpan<byte> source)
    {
        var fault = CheckRange(address, (ulong)source.Length);
        if (fault != MemoryFault.None)
        {
            return fault;
        }

        MarkDirty(address, (ulong)source.Length);
        while (!source.IsEmpty)
        {
            _ = Locate(address, (ulong)source.Length, out var index, out var contiguous);
            var region = _regions[index];
            source[..(int)contiguous].CopyTo(new Span<byte>(region.Host + (address - region.GuestAddress), (int)contiguous));
            source = source[(int)contiguous..];
            address += contiguous;
        }

        return MemoryFault.None;
    }

    /// <summary>Reads a blittable value (in guest byte order) from guest memory.</summary>
    public MemoryFault Read<T>(ulong address, out T value)
        where T : unmanaged
    {
        // A span over the reference itself, not a pointer to it: the caller's variable may be a
        // field of a heap object, which the GC can move while the copy runs.
        value = default;
        return Read(address, MemoryMarshal.AsBytes(new Span<T>(ref value)));
    }

    /// <summary>Writes a blittable value (already in guest byte order) to guest memory.</summary>
    public MemoryFault Write<T>(ulong address, in T value)
        where T : unmanaged
    {
        fixed (T* p = &value)
        {
            return Write(address, new ReadOnlySpan<byte>(p, sizeof(T)));
        }
    }

    /// <summary>
    /// Records that the host wrote [<paramref name="address"/>, +<paramref name="length"/>); devices
    /// that write through spans or pointers call this so migration sees the change.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MarkDirty(ulong address, ulong length)
    {
        if (_dirtyLogs is not null)
        {
            MarkDirtySlow(address, length);
        }
    }

    private void MarkDirtySlow(ulong address, ulong length)
    {
        while (length != 0 && Locate(address, length, out var index, out var contiguous) == MemoryFault.None)
        {
            _dirtyLogs![index]?.Mark(address, contiguous);
            address += contiguous;
            length -= contiguous;
        }
    }

    /// <summary>
    /// Translates an address in the front end's virtual address space (how vhost-user sends ring
    /// addresses) to a guest-physical address, when some region maps it.
    /// </summary>
    public bool TryUserToGuest(ulong userAddress, out ulong guestAddress)
    {
        foreach (var region in _regions)
        {
            if (userAddress >= region.UserAddress && userAddress - region.UserAddress < region.Size)
            {
                guestAddress = region.GuestAddress + (userAddress - region.UserAddress);
                return true;
            }
        }

        guestAddress = 0;
        return false;
    }

    /// <summary>Takes another reference unless the snapshot was already released; used by <see cref="AtomicGuestMemory"/>.</summary>
    /// <summary>
    /// Takes one more reference to this map, for work that outlives the caller's lease
    /// (asynchronous I/O into guest buffers): the mappings stay until it is disposed.
    /// </summary>
    public GuestMemory Retain() =>
        TryAddReference() ? this : throw new ObjectDisposedException(nameof(GuestMemory), "Guest memory retained after its last reference ended.");

    internal bool TryAddReference()
    {
        var seen = Volatile.Read(ref _references);
        while (seen > 0)
        {
            var before = Interlocked.CompareExchange(ref _references, seen + 1, seen);
            if (before == seen)
            {
                return true;
            }

            seen = before;
        }

        return false;
    }

    /// <summary>Releases one reference; the last one releases the regions.</summary>
    public void Dispose()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            foreach (var region in _regions)
            {
                region.Release();
            }

            foreach (var log in DistinctLogs())
            {
                log.Dispose();
            }
        }
        else if (left < 0)
        {
            throw new ObjectDisposedException(nameof(GuestMemory), "Guest memory released more often than referenced.");
        }
    }

    /// <summary>
    /// Logs for a changed region list: kept when this snapshot logs every region into one bitmap
    /// (the guest-physical log vhost-user uses), so a region added while logging is logged too;
    /// per-region logs cannot be carried over to a region they never covered and are dropped.
    /// </summary>
    private DirtyBitmap?[]? LogsFor(GuestRegion[] regions)
    {
        var logs = DistinctLogs();
        return logs.Count == 1 && Array.TrueForAll(_dirtyLogs!, l => l == logs[0])
            ? Array.ConvertAll(regions, _ => (DirtyBitmap?)logs[0])
            : null;
    }

    /// <summary>Each bitmap this snapshot logs into, once (regions usually share one).</summary>
    private List<DirtyBitmap> DistinctLogs()
    {
        var logs = new List<DirtyBitmap>();
        foreach (var log in _dirtyLogs ?? [])
        {
            if (log is not null && !logs.Contains(log))
            {
                logs.Add(log);
            }
        }

        return logs;
    }

    private static GuestRegion[] Sorted(GuestRegion[] regions)
    {
        ArgumentNullException.ThrowIfNull(regions);
        var copy = (GuestRegion[])regions.Clone();
        Array.Sort(copy, (a, b) => a.GuestAddress.CompareTo(b.GuestAddress));
        return copy;
    }
}
