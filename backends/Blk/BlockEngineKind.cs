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
    /// Whether a busy-polling worker yields its core in every round that found nothing: with
    /// io_uring, whose kernel workers finish I/O on that core and would otherwise wait for the
    /// scheduler to preempt it. librbd's threads run there too, but its window is a few
    /// microseconds (<see cref="DefaultBusyPoll"/>), and yielding in it broke up their batches:
    /// random 4k reads at QD32 on a one-OSD cluster, 10.5k IOPS yielding against 12.6k spinning.
    /// </summary>
    public static bool YieldsWhilePolling(this BlockEngineKind kind) => kind is BlockEngineKind.Uring;

    /// <summary>
    /// How long a worker serving this engine polls its rings after work by default: 32 µs, as
    /// QEMU's iothreads, so that a request that follows soon is seen without a wake-up (QD1
    /// latency: about 2 µs instead of 5-15 on the mapped engine, 8 instead of 11 with io_uring
    /// on tmpfs); idle queues still sleep. librbd's requests take a network round trip, far
    /// longer than any window, so there it is only long enough for what a driver sends as soon
    /// as it sees a completion: the next request of a queue kept full (QD1 reads: 1.3 wake-ups
    /// of the worker per I/O instead of 2.5, and 20-25 µs of its CPU time instead of 34-39).
    /// Polling longer there keeps the core from librbd's threads and the OSD.
    /// </summary>
    public static TimeSpan DefaultBusyPoll(this BlockEngineKind kind) =>
        TimeSpan.FromMicroseconds(kind == BlockEngineKind.Rbd ? 5 : 32);
}
