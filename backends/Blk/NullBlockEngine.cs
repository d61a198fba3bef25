using Tmds.Linux;

namespace IoVirt.Backends.Blk;

/// <summary>
/// Completes every operation successfully without touching the image (reads leave the guest's
/// buffers as they were): what is left to measure is the virtio and vhost-user path itself.
/// </summary>
internal sealed class NullBlockEngine : IBlockEngine
{
    private readonly CompletionQueue _done = new();

    public int CompletionEvent => -1;

    public void Read(ulong tag, long offset, ReadOnlySpan<iovec> buffers) => _done.Add(tag, Length(buffers));

    public void Write(ulong tag, long offset, ReadOnlySpan<iovec> buffers, bool durable) => _done.Add(tag, Length(buffers));

    public void Flush(ulong tag) => _done.Add(tag, 0);

    public void Allocate(ulong tag, int mode, long offset, long length) => _done.Add(tag, 0);

    public void Submit()
    {
    }

    public bool TryTakeCompletion(out ulong tag, out int result) => _done.TryTake(out tag, out result);

    public void WaitForCompletion()
    {
    }

    private static int Length(ReadOnlySpan<iovec> buffers)
    {
        long total = 0;
        foreach (ref readonly var buffer in buffers)
        {
            total += (long)(ulong)buffer.iov_len;
        }

        return (int)total;
    }

    public void Dispose()
    {
    }
}
