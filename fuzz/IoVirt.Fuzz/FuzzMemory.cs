using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Fuzz;

/// <summary>Where the fuzz targets put guest memory.</summary>
public static class FuzzLayout
{
    public const ulong PageSize = 4096;

    /// <summary>Guest address of the main region, which holds the input's memory image; the page below it is not guest memory.</summary>
    public const ulong RegionBase = 0x10_0000;

    /// <summary>Custom ring offsets count from here, so small offsets fall outside guest memory.</summary>
    public const ulong RingOffsetBase = RegionBase - PageSize;

    /// <summary>A one-page region ending 4 KiB below 2^64 (the last page cannot be a region: its end would not fit in 64 bits).</summary>
    public const ulong HighRegionBase = 0xFFFF_FFFF_FFFF_E000;

    /// <summary>The region a rebind adds.</summary>
    public const ulong RebindRegionBase = 0x4000_0000;

    /// <summary>
    /// The ring at <see cref="RegionBase"/>, as compact as the alignment rules allow so inputs stay
    /// small: packed as <see cref="RingLayout.Packed"/>; split with the used ring right after the
    /// available ring (4-byte aligned) rather than at the next page.
    /// </summary>
    public static QueueConfig Ring(bool packed, int size, bool eventIdx, bool indirect)
    {
        if (packed)
        {
            return RingLayout.Packed(RegionBase, size, eventIdx, indirect);
        }

        var avail = RegionBase + SplitRingLayout.DescriptorTableSize(size);
        var used = AlignUp(avail + VirtqAvail.TotalSize(size), VirtqUsed.Alignment);
        return new QueueConfig(size, RegionBase, avail, used, eventIdx, indirect);
    }

    /// <summary>Bytes <see cref="Ring"/> uses from <see cref="RegionBase"/>.</summary>
    public static ulong RingBytes(bool packed, int size)
    {
        var config = Ring(packed, size, eventIdx: false, indirect: false);
        return packed
            ? RingLayout.PackedBytes(size)
            : config.DeviceArea + VirtqUsed.TotalSize(size) - RegionBase;
    }

    public static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}

/// <summary>
/// The guest memory of one fuzz run: the snapshots made during the run and the dirty bitmaps
/// behind them, all released together.
/// </summary>
public sealed unsafe class FuzzMemory : IDisposable
{
    private readonly List<GuestMemory> _snapshots = [];
    private readonly List<DirtyBitmap> _bitmaps = [];

    private FuzzMemory()
    {
    }

    /// <summary>The newest snapshot.</summary>
    public GuestMemory Memory => _snapshots[^1];

    /// <summary>
    /// The main region (<see cref="FuzzHeader.RegionBytes"/> at <see cref="FuzzLayout.RegionBase"/>)
    /// with <paramref name="image"/> copied to its start, continuing into the adjacent region when
    /// there is one; the rest is zero.
    /// </summary>
    public static FuzzMemory Build(FuzzHeader header, ReadOnlySpan<byte> image)
    {
        var space = new FuzzMemory();
        var regions = new List<GuestRegion>(3);
        try
        {
            var mainBytes = header.RegionBytes;
            regions.Add(Fill(GuestRegion.Allocate(FuzzLayout.RegionBase, mainBytes), ref image));
            if (header.Has(FuzzFlags.AdjacentRegion))
            {
                regions.Add(Fill(GuestRegion.Allocate(FuzzLayout.RegionBase + mainBytes, FuzzLayout.PageSize), ref image));
            }

            if (header.Has(FuzzFlags.HighRegion))
            {
                regions.Add(GuestRegion.Allocate(FuzzLayout.HighRegionBase, FuzzLayout.PageSize));
            }

            space._snapshots.Add(new GuestMemory([.. regions]));
            regions.Clear();
            if (header.Has(FuzzOptions.DirtyLog))
            {
                space._snapshots.Add(space.Memory.WithDirtyLog(region =>
                {
                    var bitmap = DirtyBitmap.Allocate(region.GuestAddress, region.Size);
                    space._bitmaps.Add(bitmap);
                    return bitmap;
                }));
            }

            return space;
        }
        catch
        {
            foreach (var region in regions)
            {
                // Not yet owned by a snapshot: a throwaway snapshot takes and releases it.
                new GuestMemory(region).Dispose();
            }

            space.Dispose();
            throw;
        }
    }

    /// <summary>A new snapshot with one more (empty) region, as a memory table change makes.</summary>
    public GuestMemory AddRegion()
    {
        var next = Memory.WithRegion(GuestRegion.Allocate(FuzzLayout.RebindRegionBase, FuzzLayout.PageSize));
        _snapshots.Add(next);
        return next;
    }

    public void Dispose()
    {
        foreach (var snapshot in _snapshots)
        {
            snapshot.Dispose();
        }

        foreach (var bitmap in _bitmaps)
        {
            bitmap.Dispose();
        }

        _snapshots.Clear();
        _bitmaps.Clear();
    }

    private static GuestRegion Fill(GuestRegion region, ref ReadOnlySpan<byte> image)
    {
        var count = (int)Math.Min((ulong)image.Length, region.Size);
        image[..count].CopyTo(new Span<byte>(region.Host, count));
        image = image[count..];
        return region;
    }
}
