using Microsoft.Win32.SafeHandles;
using IoVirt.Abi.Virtio;
using IoVirt.Virtqueue;

namespace IoVirt.Devices;

/// <summary>
/// A virtio device as a vhost-user back end serves it: what it offers (features, config space,
/// queues) and how it processes a queue. The server does everything else: the protocol, memory,
/// rings, workers, notifications and reconnects.
/// </summary>
public abstract class VirtioDeviceModel
{
    /// <summary>
    /// Transport features every device served here can offer, since the rings do them: VERSION_1,
    /// INDIRECT_DESC, EVENT_IDX and the packed ring.
    /// </summary>
    protected const ulong RingFeatures =
        (1UL << VirtioFeature.Version1) | (1UL << VirtioFeature.RingIndirectDesc) | (1UL << VirtioFeature.RingEventIdx) | (1UL << VirtioFeature.RingPacked);

    /// <summary>The device type, for --print-capabilities and logs (e.g. "rng", "blk").</summary>
    public abstract string Name { get; }

    /// <summary>Virtio feature bits offered: device bits plus the transport bits the device supports.</summary>
    public abstract ulong Features { get; }

    /// <summary>Most queues the device has.</summary>
    public virtual int QueueCount => 1;

    /// <summary>The GET_QUEUE_NUM answer: the queue count, except for devices whose front ends count otherwise (network: queue pairs).</summary>
    public virtual ulong ReportedQueueNumber => (ulong)QueueCount;

    /// <summary>Largest queue size accepted.</summary>
    public virtual int MaxQueueSize => 1024;

    /// <summary>The virtio device configuration space (empty when the device has none).</summary>
    public virtual ReadOnlySpan<byte> ConfigSpace => default;

    /// <summary>The driver wrote <paramref name="data"/> at <paramref name="offset"/> of the config space; false refuses it.</summary>
    public virtual bool WriteConfig(uint offset, ReadOnlySpan<byte> data) => false;

    /// <summary>The front end acknowledged <paramref name="features"/> (a subset of <see cref="Features"/>).</summary>
    public virtual void FeaturesNegotiated(ulong features)
    {
    }

    /// <summary>Queues that share a worker thread have the same group number; by default each queue has its own.</summary>
    public virtual int WorkerGroup(int queueIndex) => queueIndex;

    /// <summary>
    /// Pops and completes what the queue holds, on the queue's worker thread: walk each chain,
    /// do the work, <see cref="DeviceQueue.AddUsed"/>. The server publishes, interrupts and
    /// re-enables notifications. Return without draining (after <see cref="DeviceQueue.UndoLastPop"/>)
    /// to defer work; a guest fault stays in <see cref="DeviceQueue.Fault"/>.
    /// </summary>
    public abstract void ProcessQueue(int queueIndex, DeviceQueue queue);

    /// <summary>
    /// A descriptor the queue's worker waits on besides the kick, edge-triggered: the completion
    /// eventfd of asynchronous I/O, a TAP with packets to receive. When it becomes readable the
    /// ring is processed. Asked when the ring starts; -1 (the default) is none. It must stay open
    /// until <see cref="Reset"/>.
    /// </summary>
    public virtual int QueueEventSource(int queueIndex) => -1;

    /// <summary>
    /// Whether the device may leave buffers on this ring untaken until its
    /// <see cref="QueueEventSource"/> fires (a receive queue waits for packets). The worker
    /// then stops polling such a ring when the device takes nothing twice; for other rings it
    /// keeps going while the driver has buffers there.
    /// </summary>
    public virtual bool WaitsForEventSource(int queueIndex) => false;

    /// <summary>
    /// Asked, on the queue's worker, before that worker sleeps: true when the queue has work no
    /// descriptor will announce, so the worker runs it instead of sleeping. For work the worker
    /// itself made (a port that loops transmitted packets back to the receive queue of the same
    /// worker), this replaces an eventfd write per burst, and the two rings run as one polling
    /// loop. It must say false when the queue cannot take the work now (no buffers), or the
    /// worker would spin.
    /// </summary>
    public virtual bool HasUnannouncedWork(int queueIndex) => false;

    /// <summary>
    /// Whether the queues' work finishes on other threads that may share the worker's core
    /// (io_uring's kernel workers, a library's callback threads). A busy-polling worker then
    /// yields the core in every round that found nothing, rather than keep those threads waiting
    /// until the scheduler preempts it; the default, for work done inside
    /// <see cref="ProcessQueue"/>, spins.
    /// </summary>
    public virtual bool YieldsWhilePolling => false;

    /// <summary>
    /// The ring is stopping (GET_VRING_BASE, RESET_OWNER, a device reset): finish the work in
    /// flight on it and <see cref="DeviceQueue.AddUsed"/> it, so the position the front end gets
    /// covers every request the device took. The server publishes. The default, for devices that
    /// complete everything inside <see cref="ProcessQueue"/>, does nothing.
    /// </summary>
    public virtual void QuiesceQueue(int queueIndex, DeviceQueue queue)
    {
    }

    /// <summary>
    /// Writes the device's internal state for migration (DEVICE_STATE), while every ring is
    /// stopped. The default has no state beyond the rings and writes nothing.
    /// </summary>
    public virtual void SaveState(Stream destination)
    {
    }

    /// <summary>
    /// Reads back what <see cref="SaveState"/> wrote, on the migration's destination; throws
    /// <see cref="InvalidDataException"/> for a state it cannot take. The default accepts only an empty state.
    /// </summary>
    public virtual void LoadState(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.ReadByte() >= 0)
        {
            throw new InvalidDataException($"the {Name} device keeps no state, but a state was sent");
        }
    }

    /// <summary>
    /// A connected stream socket to the VMM's display, on which the device says what its
    /// scanouts show (vhost-user's GPU_SET_SOCKET hands one to a GPU). The device owns it from
    /// the call on; a new one replaces the old. False (the default) for a device with no display.
    /// </summary>
    public virtual bool ConnectDisplay(SafeFileHandle socket) => false;

    /// <summary>
    /// Whether <see cref="AnnounceMigration"/> tells the network something: a network device
    /// that can send frames of its own (the server then offers vhost-user's RARP feature).
    /// </summary>
    public virtual bool AnnouncesMigration => false;

    /// <summary>
    /// The guest has just been migrated here, and its NIC has the six-byte MAC
    /// <paramref name="mac"/>: the device sends a frame from that address soon, so that switches
    /// learn the guest's new port (vhost-user's SEND_RARP). Called on any thread. The default,
    /// for devices without <see cref="AnnouncesMigration"/>, does nothing.
    /// </summary>
    public virtual void AnnounceMigration(ReadOnlySpan<byte> mac)
    {
    }

    /// <summary>Returns the device to its initial state (RESET_DEVICE, or the front end went away).</summary>
    public virtual void Reset()
    {
    }
}
