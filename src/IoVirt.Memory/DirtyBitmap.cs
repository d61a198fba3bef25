using System.Runtime.InteropServices;

namespace IoVirt.Memory;

/// <summary>
/// A bitmap with one bit per 4 KiB guest page, bit n of byte k standing for page 8k+n counted
/// from <see cref="BaseAddress"/> (the layout vhost-user's shared dirty log uses). Marking is
/// atomic, so several queue workers may log into one bitmap; it lives in memory the caller
/// supplies (a shared log mapping) or that the bitmap allocates. Every <see cref="GuestMemory"/>
/// snapshot that logs into it holds a reference, so the memory behind it is freed (or, for a
/// supplied mapping, handed to its release action) only when the creator and the last such
/// snapshot are done with it.
/// </summary>
public sealed unsafe class DirtyBitmap : IDisposable
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;

    private readonly byte* _bits;
    private readonly bool _owned;
    private readonly Action? _release;
    private long _missedPages;
    private int _references = 1;

    /// <summary>
    /// Wraps <paramref name="sizeInBytes"/> bytes at <paramref name="bits"/>; <paramref name="release"/>
    /// (an unmap, say) runs once nothing uses them any more.
    /// </summary>
    public DirtyBitmap(byte* bits, ulong sizeInBytes, ulong baseAddress, Action? release = null)
    {
        _bits = bits;
        SizeInBytes = sizeInBytes;
        BaseAddress = baseAddress;
        _release = release;
    }

    private DirtyBitmap(ulong sizeInBytes, ulong baseAddress)
    {
        _bits = (byte*)NativeMemory.AllocZeroed((nuint)Math.Max(sizeInBytes, 1));
        _owned = true;
        SizeInBytes = sizeInBytes;
        BaseAddress = baseAddress;
    }

    /// <summary>Allocates a zeroed bitmap covering <paramref name="coveredBytes"/> of guest memory from <paramref name="baseAddress"/>.</summary>
    public static DirtyBitmap Allocate(ulong baseAddress, ulong coveredBytes)
    {
        var pages = (coveredBytes >> PageShift) + ((coveredBytes & (PageSize - 1)) != 0 ? 1UL : 0UL);
        return new DirtyBitmap((pages + 7) / 8, baseAddress);
    }

    public ulong BaseAddress { get; }

    public ulong SizeInBytes { get; }

    /// <summary>Pages that could not be logged because they lie past the bitmap's end.</summary>
    public long MissedPages => Interlocked.Read(ref _missedPages);

    /// <summary>Marks every page that [<paramref name="address"/>, +<paramref name="length"/>) touches.</summary>
    public void Mark(ulong address, ulong length)
    {
        if (length == 0 || address < BaseAddress)
        {
            return;
        }

        var first = (address - BaseAddress) >> PageShift;
        var last = (address - BaseAddress + (length - 1)) >> PageShift;
        for (var page = first; page <= last; page++)
        {
            var byteIndex = page >> 3;
            if (byteIndex >= SizeInBytes)
            {
                Interlocked.Add(ref _missedPages, (long)(last - page + 1));
                return;
            }

            var bit = (byte)(1 << (int)(page & 7));
            ref var cell = ref _bits[byteIndex];
            byte seen;
            do
            {
                seen = Volatile.Read(ref cell);
                if ((seen & bit) != 0)
                {
                    break;
                }
            }
            while (Interlocked.CompareExchange(ref cell, (byte)(seen | bit), seen) != seen);
        }
    }

    /// <summary>True when the page holding <paramref name="address"/> is marked.</summary>
    public bool IsDirty(ulong address)
    {
        if (address < BaseAddress)
        {
            return false;
        }

        var page = (address - BaseAddress) >> PageShift;
        var byteIndex = page >> 3;
        return byteIndex < SizeInBytes && (Volatile.Read(ref _bits[byteIndex]) & (1 << (int)(page & 7))) != 0;
    }

    internal void AddReference() => Interlocked.Increment(ref _references);

    /// <summary>Releases the creator's reference; the memory goes when the last snapshot logging into it goes too.</summary>
    public void Dispose()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left != 0)
        {
            if (left < 0)
            {
                throw new ObjectDisposedException(nameof(DirtyBitmap), "Dirty bitmap released more often than referenced.");
            }

            return;
        }

        if (_owned)
        {
            NativeMemory.Free(_bits);
        }

        _release?.Invoke();
    }
}
