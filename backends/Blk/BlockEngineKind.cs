namespace IoVirt.Backends.Blk;

/// <summary>How a block device reaches its image.</summary>
public enum BlockEngineKind
{
    /// <summary>Mapped for an image in RAM (tmpfs, memfd), Uring otherwise.</summary>
    Auto,

    /// <summary>io_uring: batched asynchronous submission, the worker woken by a completion eventfd.</summary>
    Uring,

    /// <summary>preadv2/pwritev2/fdatasync on the worker thread, where io_uring is unavailable.</summary>
    Sync,

    /// <summary>An image in RAM mapped into the back end: each request is a memory copy, no system call.</summary>
    Mapped,

    /// <summary>Completes every request at once without touching the image: measures the data path and load generators alone.</summary>
    Null,

    /// <summary>librbd's asynchronous I/O: the engine of an RBD image, and its only one.</summary>
    Rbd,
}

public static class BlockEngineKinds
{
    /// <summary>
    /// Whether the engine's completions come later, from other threads, and wake the queue's
    /// worker (io_uring's kernel workers through an eventfd, librbd's callbacks), rather than
    /// inside the call: a busy-polling worker yields its core to those threads.
    /// </summary>
    public static bool WakesOnCompletion(this BlockEngineKind kind) => kind is BlockEngineKind.Uring or BlockEngineKind.Rbd;

    /// <summary>
    /// Whether a worker serving this engine busy-polls its rings after work by default: all but
    /// librbd, whose requests take a network round trip, far longer than a polling window.
    /// </summary>
    public static bool BusyPollsByDefault(this BlockEngineKind kind) => kind != BlockEngineKind.Rbd;
}
