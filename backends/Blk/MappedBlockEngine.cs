using Tmds.Linux;

namespace IoVirt.Backends.Blk;

/// <summary>
/// For an image in RAM (tmpfs, memfd): the image is mapped once (<see cref="BlockStore.Mapping"/>)
/// and reads and writes are copies between it and the guest's buffers on the queue's thread,
/// no system call per request. A FLUSH has nothing to do (RAM is as durable as this image gets);
/// discards punch holes in a RAM disk, which the mapping sees at once, and zero a tmpfs file's
/// pages in place, as every page of it must stay.
/// </summary>
internal sealed unsafe class MappedBlockEngine(BlockStore store) : IBlockEngine
{
    private readonly CompletionQueue _done = new();
    private readonly byte* _image = store.Mapping;

    public int CompletionEvent => -1;

    public void Read(ulong tag, long offset, ReadOnlySpan<iovec> buffers)
    {
        var source = _image + offset;
        long total = 0;
        foreach (ref readonly var buffer in buffers)
        {
            var length = (long)(ulong)buffer.iov_len;
            Buffer.MemoryCopy(source + total, buffer.iov_base, length, length);
            total += length;
        }

        _done.Add(tag, (int)total);
    }

    public void Write(ulong tag, long offset, ReadOnlySpan<iovec> buffers, bool durable)
    {
        var destination = _image + offset;
        long total = 0;
        foreach (ref readonly var buffer in buffers)
        {
            var length = (long)(ulong)buffer.iov_len;
            Buffer.MemoryCopy(buffer.iov_base, destination + total, length, length);
            total += length;
        }

        _done.Add(tag, (int)total);
    }

    public void Flush(ulong tag) => _done.Add(tag, 0);

    public void Allocate(ulong tag, int mode, long offset, long length)
    {
        if (store.Buffered.IsAnonymousMemory)
        {
            _done.Add(tag, store.Buffered.Allocate(mode, offset, length));
            return;
        }

        // A tmpfs file stays allocated whole (see BlockStore.WhyNotMappable): a hole punched here
        // could find no page again once the file system fills, and the mapping would fault.
        for (var done = 0L; done < length;)
        {
            var chunk = (int)Math.Min(length - done, 1 << 30);
            new Span<byte>(_image + offset + done, chunk).Clear();
            done += chunk;
        }

        _done.Add(tag, 0);
    }

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
