using System.Runtime.InteropServices;
using IoVirt.Memory;
using IoVirt.Virtqueue;

namespace IoVirt.Testing;

/// <summary>
/// A dirty log over a queue harness's region, a device half that logs into it, and a snapshot of
/// the region's bytes: names a page that changed since the snapshot without being logged. A live
/// migration copies only logged pages, so such a page arrives stale at the destination.
/// </summary>
public sealed unsafe class DirtyLogWatch : IDisposable
{
    private readonly GuestRegion _region;
    private readonly byte[] _bits;
    private readonly DirtyBitmap _log;
    private readonly byte[] _before;

    public DirtyLogWatch(QueueHarness harness)
    {
        _region = harness.Memory.Regions[0];
        _bits = GC.AllocateArray<byte>((int)((_region.Size / DirtyBitmap.PageSize) + 7) / 8, pinned: true);
        _log = new DirtyBitmap((byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_bits, 0), (ulong)_bits.Length, _region.GuestAddress);
        Memory = harness.Memory.WithDirtyLog(_ => _log);
        Device = harness.DeviceIn(Memory);
        _before = new byte[_region.Size];
        Snapshot();
    }

    /// <summary>The harness's memory, logging what is written through it.</summary>
    public GuestMemory Memory { get; }

    /// <summary>A device half of the harness's rings, at their start, writing through <see cref="Memory"/>.</summary>
    public DeviceQueue Device { get; }

    private Span<byte> Image => new(_region.Host, (int)_region.Size);

    /// <summary>Empties the log and remembers the region's bytes as they are now.</summary>
    public void Snapshot()
    {
        Array.Clear(_bits);
        Image.CopyTo(_before);
    }

    /// <summary>The first page (counted from the region's start) that changed since the snapshot and is not in the log; null when there is none.</summary>
    public int? FirstUnloggedChange()
    {
        var image = Image;
        for (var page = 0; page * (int)DirtyBitmap.PageSize < image.Length; page++)
        {
            var start = page * (int)DirtyBitmap.PageSize;
            var length = Math.Min((int)DirtyBitmap.PageSize, image.Length - start);
            if (!image.Slice(start, length).SequenceEqual(_before.AsSpan(start, length)) && !_log.IsDirty(_region.GuestAddress + (ulong)start))
            {
                return page;
            }
        }

        return null;
    }

    public void Dispose()
    {
        Memory.Dispose();
        _log.Dispose();
    }
}
