using IoVirt.Interop;

namespace IoVirt.Backends.Blk;

/// <summary>
/// Faults in a mapped image's pages on a background thread, so the serving thread does not take
/// a page fault on each page's first touch (a 1 GiB image has 262,144 pages). An image file is
/// whole in RAM by then (the mapped engine allocates it), so all of it is populated; a RAM disk
/// only where it was written (SEEK_DATA), so its unwritten space stays unallocated. On tmpfs a
/// read fault maps a shared page writable as well (shmem keeps no dirty accounting), so writes
/// gain too. Best effort: where the kernel cannot, pages fault in on first use as before.
/// </summary>
internal sealed unsafe class MappingPrefault : IDisposable
{
    /// <summary>Populated per call; small enough that Dispose waits for at most one call.</summary>
    private const ulong Chunk = 32 << 20;

    private readonly byte* _mapping;
    private readonly BlockFile _file;
    private readonly bool _writtenOnly;
    private readonly Thread _thread;
    private volatile bool _stop;

    /// <summary>Starts populating <paramref name="file"/>'s mapping at <paramref name="mapping"/>: all of it, or with <paramref name="writtenOnly"/> its written extents.</summary>
    public MappingPrefault(byte* mapping, BlockFile file, bool writtenOnly)
    {
        _mapping = mapping;
        _file = file;
        _writtenOnly = writtenOnly;
        _thread = SelfNamedThread.Create("blk prefault", Run);
        _thread.Priority = ThreadPriority.BelowNormal;
        _thread.Start();
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        var at = 0UL;
        while (!_stop && NextExtent(at, out var start, out var end))
        {
            for (at = start; at < end && !_stop; at += Chunk)
            {
                var length = Math.Min(Chunk, end - at);
                if (!Mapping.PopulateRead(_mapping + at, length))
                {
                    return;
                }
            }
        }
    }

    private bool NextExtent(ulong from, out ulong start, out ulong end)
    {
        if (_writtenOnly)
        {
            return _file.TryNextData(from, out start, out end);
        }

        (start, end) = (from, _file.Size);
        return start < end;
    }
}
