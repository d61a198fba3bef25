using IoVirt.Memory;
using Tmds.Linux;

namespace IoVirt.Backends.Blk;

/// <summary>
/// One queue's path to the image. Operations are queued, handed to the kernel together by
/// <see cref="Submit"/> (one system call per batch for io_uring) and completed later, each with
/// its tag and a result: bytes transferred or a negated errno. Used from one thread at a time.
/// </summary>
public interface IBlockEngine : IDisposable
{
    /// <summary>
    /// A descriptor that becomes readable when completions are ready, or -1 when every operation
    /// completes inside <see cref="Submit"/>. It may be signalled only when the first of a run of
    /// completions arrives: after a wake-up, take completions until <see cref="TryTakeCompletion"/> says none is left.
    /// </summary>
    int CompletionEvent { get; }

    /// <summary>
    /// The guest memory that the buffers of the operations that follow lie in, given before each
    /// batch (so cheap when nothing changed). An engine may register it with the kernel once
    /// instead of having each operation resolve its buffers (io_uring's fixed buffers). Returns
    /// a line for the log when that changed, else null.
    /// </summary>
    string? UseMemory(GuestMemory memory) => null;

    /// <summary>Reads into <paramref name="buffers"/> from byte <paramref name="offset"/> of the image. The buffers must stay mapped until completion.</summary>
    void Read(ulong tag, long offset, ReadOnlySpan<iovec> buffers);

    /// <summary>Writes <paramref name="buffers"/> at <paramref name="offset"/>; <paramref name="durable"/> completes only once the data is on stable storage.</summary>
    void Write(ulong tag, long offset, ReadOnlySpan<iovec> buffers, bool durable);

    /// <summary>Makes every write completed before this call durable (fdatasync).</summary>
    void Flush(ulong tag);

    /// <summary>fallocate with a <see cref="IoVirt.Interop.BlockFile"/> mode: discard (punch a hole) or zero a range.</summary>
    void Allocate(ulong tag, int mode, long offset, long length);

    /// <summary>Hands what was queued to the kernel.</summary>
    void Submit();

    /// <summary>Takes one finished operation, if any.</summary>
    bool TryTakeCompletion(out ulong tag, out int result);

    /// <summary>Blocks until a completion is ready; only called while operations are outstanding.</summary>
    void WaitForCompletion();
}
