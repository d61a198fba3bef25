using IoVirt.Devices;
using IoVirt.Memory;
using IoVirt.Virtqueue;

namespace IoVirt.VhostUser;

/// <summary>What a <see cref="Vring"/> and its <see cref="QueueWorker"/> need from the session that owns them.</summary>
internal interface IRingHost
{
    VirtioDeviceModel Device { get; }

    AtomicGuestMemory? Memory { get; }

    /// <summary>The virtio features the front end acknowledged (ring format, event index, indirect descriptors).</summary>
    ulong Features { get; }

    /// <summary>The inflight buffer rings track their requests in, once the front end gave one.</summary>
    InflightArea? Inflight { get; }

    /// <summary>The guest broke the ring: the device needs a reset.</summary>
    void GuestFault(Vring ring, QueueError error);

    /// <summary>The device model threw while processing: the device needs a reset; the daemon goes on.</summary>
    void DeviceFailed(Vring ring, Exception error);

    /// <summary>The device model threw while finishing a stopping ring's requests: the device needs a reset.</summary>
    void DrainFailed(Vring ring, Exception error);

    /// <summary>A starting ring found requests a previous back end left in flight, and will run them again.</summary>
    void Resubmitting(Vring ring, int count);

    /// <summary>The worker's own loop failed and stopped: the session must end; the daemon goes on.</summary>
    void WorkerFailed(Exception error);
}
