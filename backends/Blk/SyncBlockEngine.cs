using Tmds.Linux;

namespace IoVirt.Backends.Blk;

/// <summary>
/// The fallback engine: each operation is a positioned system call made at once on the queue's
/// worker thread (preadv2, pwritev2 with RWF_DSYNC for durable writes, fdatasync, fallocate).
/// </summary>
internal sealed class SyncBlockEngine(BlockStore store) : IBlockEngine
{
    private readonly CompletionQueue _done = new();

    public int CompletionEvent => -1;

    public void Read(ulong tag, long offset, ReadOnlySpan<iovec> buffers) =>
        _done.Add(tag, store.FileFor(offset, buffers).ReadAt(offset, buffers));

    public void Write(ulong tag, long offset, ReadOnlySpan<iovec> buffers, bool durable) =>
        _done.Add(tag, store.FileFor(offset, buffers).WriteAt(offset, buffers, durable));

    public void Flush(ulong tag) => _done.Add(tag, store.Buffered.DataSync());

    public void Allocate(ulong tag, int mode, long offset, long length) => _done.Add(tag, store.Buffered.Allocate(mode, offset, length));

    public void Submit()
    {
    }

    public bool TryTakeCompletion(out ulong tag, out int result) => _done.TryTake(out tag, out result);

    public void WaitForCompletion()
    {
    }

    public void Dispose()
    {
    }
}
