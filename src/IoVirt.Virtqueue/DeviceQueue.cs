using IoVirt.Memory;

namespace IoVirt.Virtqueue;

/// <summary>
/// The device's half of a virtqueue, split or packed. One thread owns a queue: nothing here
/// locks. The cycle is <see cref="TryPop"/> → walk the chain → <see cref="AddUsed"/> (any order,
/// any number) → <see cref="PublishUsed"/> once per batch → <see cref="NeedsInterrupt"/>.
/// Guest faults stop the queue and stay in <see cref="Fault"/>; they never throw.
/// </summary>
public abstract class DeviceQueue
{
    private protected DeviceQueue(GuestMemory memory, QueueConfig config)
    {
        Memory = memory;
        Config = config;
    }

    public QueueConfig Config { get; }

    public int Size => Config.Size;

    /// <summary>The memory snapshot the ring pointers were resolved in; the owner keeps it leased.</summary>
    public GuestMemory Memory { get; private set; }

    /// <summary>The first guest error seen; once set, the queue pops nothing until it is recreated.</summary>
    public QueueError Fault { get; private set; }

    public bool IsBroken => Fault != QueueError.None;

    /// <summary>Where the device stands, for GET_VRING_BASE and to recreate the queue after a reset of the connection.</summary>
    public abstract QueuePosition Position { get; }

    /// <summary>
    /// Takes the next available chain. False when none is available or the queue is broken (see
    /// <see cref="Fault"/>). Walk the chain before adding used elements for chains popped after
    /// it: in a packed ring, used elements are written over the slots of earlier chains.
    /// </summary>
    public abstract bool TryPop(out DescriptorChain chain);

    /// <summary>
    /// Whether <see cref="TryPop"/> would find a chain now: a look that takes nothing, for a
    /// device deciding whether its driver has more on the way. The chain itself is not checked;
    /// an avail index that jumped stops the queue as a pop would. False once the queue is broken.
    /// </summary>
    public abstract bool HasAvailable { get; }

    /// <summary>
    /// A hint before a burst of pops: reads the descriptors of up to <paramref name="chains"/>
    /// available chains (<see cref="MaxPrefetchedChains"/> at most) and brings the start of each
    /// one's device-readable buffers into the cache (see <see cref="GuestMemory.TryLocateStart"/>),
    /// so that the burst waits for its cache misses at once instead of one chain at a time.
    /// Device-writable buffers are left alone: a line read only to be overwritten costs a second
    /// trip between the caches (measured: a third of the receive rate). Pops nothing and
    /// validates nothing beyond what it needs to stay in the ring: a bad index or address is
    /// skipped here and reported by the pop.
    /// </summary>
    public abstract void Prefetch(int chains);

    /// <summary>The most chains one <see cref="Prefetch"/> looks at.</summary>
    public const int MaxPrefetchedChains = 64;

    /// <summary>How many buffers of one chain <see cref="Prefetch"/> looks at.</summary>
    private protected const int PrefetchedBuffersPerChain = 2;

    /// <summary>Puts the chain popped last back, so the next pop returns it again (a throttled device defers it).</summary>
    public abstract void UndoLastPop();

    /// <summary>
    /// Records a completed chain with the bytes written into it; the driver sees it after
    /// <see cref="PublishUsed"/>. The element itself is written into the ring there too, with the
    /// others of the batch: the ring's lines are the driver's CPU's, and each write waits for its
    /// line, so a run of them back to back overlaps the waits that one per chain, among the
    /// device's other work, would serialise (measured on `iovirt net --mode source`: 1.07-1.21x).
    /// </summary>
    public abstract void AddUsed(ChainHead head, uint writtenBytes);

    /// <summary>Writes the used elements added since the last call and makes them visible to the driver at once.</summary>
    public abstract void PublishUsed();

    /// <summary>How many used elements wait for <see cref="PublishUsed"/> before some are written early (still unpublished).</summary>
    private protected const int UnwrittenUsedCapacity = 64;

    /// <summary>
    /// After <see cref="PublishUsed"/>: whether the driver asked to be interrupted for what was
    /// published since the last interrupt (event index or flags, per the negotiated features).
    /// </summary>
    public abstract bool NeedsInterrupt();

    /// <summary>
    /// Asks the driver to notify on new buffers, then looks again: true means buffers arrived
    /// meanwhile and the caller must keep processing instead of sleeping (no lost wake-up).
    /// </summary>
    public abstract bool EnableNotifications();

    /// <summary>Tells the driver notifications are not needed (the device is polling).</summary>
    public abstract void DisableNotifications();

    /// <summary>Resolves the ring again in a new memory map (vhost-user memory table change); positions are kept.</summary>
    public QueueError Rebind(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        var error = Bind(memory);
        if (error == QueueError.None)
        {
            Memory = memory;
        }
        else
        {
            ReportFault(error);
        }

        return error;
    }

    /// <summary>
    /// Tracks pops and completions in <paramref name="tracker"/>'s shared area from now on
    /// (vhost-user INFLIGHT_SHMFD). With <paramref name="recover"/> (a ring starting), it first
    /// recovers from the area: the chains a previous back end popped and never completed are
    /// popped again first, in their original order, so none is lost and none runs twice. Without
    /// it (the same ring moved to a new queue object) the queue just keeps recording. Returns how
    /// many chains will be resubmitted. The tracker must be laid out for this queue's format.
    /// </summary>
    public abstract int TrackInflight(InflightTracker tracker, bool recover);

    /// <summary>Checks the ring parts against <paramref name="memory"/> and caches their host addresses.</summary>
    private protected abstract QueueError Bind(GuestMemory memory);

    /// <summary>Chains inflight recovery hands out again before any new one; trackers fill it.</summary>
    private protected List<ResubmittedChain> Resubmissions { get; } = [];

    private int _resubmitted;

    /// <summary>Whether the last pop handed out a resubmitted chain (so undoing it puts that back).</summary>
    private protected bool LastPopResubmitted { get; private set; }

    /// <summary>Starts handing out <see cref="Resubmissions"/> from the first.</summary>
    private protected void RestartResubmissions() => _resubmitted = 0;

    /// <summary>Takes the next chain to resubmit, if any is left.</summary>
    private protected bool TryTakeResubmission(out ResubmittedChain next)
    {
        LastPopResubmitted = _resubmitted < Resubmissions.Count;
        next = LastPopResubmitted ? Resubmissions[_resubmitted++] : default;
        return LastPopResubmitted;
    }

    private protected void UndoResubmission() => _resubmitted--;

    /// <summary>Whether chains are left to resubmit.</summary>
    private protected bool ResubmissionsLeft => _resubmitted < Resubmissions.Count;

    internal void ReportFault(QueueError error)
    {
        if (Fault == QueueError.None)
        {
            Fault = error;
        }
    }

    /// <summary>
    /// The failure return of <see cref="TryPop"/>: the chain is written on each path exactly once,
    /// so a successful pop does not clear it first.
    /// </summary>
    private protected static bool NoChain(out DescriptorChain chain)
    {
        chain = default;
        return false;
    }

    /// <summary>Resolves a newly made queue's ring in <paramref name="memory"/>; hands it out only when that worked.</summary>
    private protected static QueueError Activate<TQueue>(TQueue created, GuestMemory memory, out TQueue? queue)
        where TQueue : DeviceQueue
    {
        var error = created.Bind(memory);
        queue = error == QueueError.None ? created : null;
        return error;
    }

    /// <summary>Size rule shared by both formats: 1 to 32768 entries.</summary>
    private protected static bool IsValidSize(int size) => size is >= 1 and <= Abi.Virtio.SplitRingLayout.MaxQueueSize;

    /// <summary>The tracker as the format's own kind; another format's tracker is a caller's mistake.</summary>
    private protected static TTracker TrackerOf<TTracker>(InflightTracker tracker)
        where TTracker : InflightTracker
    {
        ArgumentNullException.ThrowIfNull(tracker);
        return tracker as TTracker ?? throw new ArgumentException($"A {tracker.GetType().Name} does not fit this queue's ring format.", nameof(tracker));
    }

    private protected static ArgumentOutOfRangeException BadHead(ChainHead head) =>
        new(nameof(head), $"Chain id {head.Id} / {head.RingDescriptors} slots was not popped from this queue.");
}
