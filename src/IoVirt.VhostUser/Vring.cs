using IoVirt.Abi.Virtio;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.VhostUser;

/// <summary>
/// One ring as the front end configures it, through its life: configured (size, addresses,
/// base, call and error eventfds), started (the kick: the queue is resolved in guest memory and
/// its worker waits on it), run by the worker, and stopped with its work in flight drained and
/// its position kept for GET_VRING_BASE. Rings that share a worker share its gate: the worker
/// holds it while it runs them, and every change here takes it.
/// </summary>
internal sealed class Vring(int index, object gate, QueueWorker worker, IRingHost host)
{
    private int _size;
    private bool _hasAddresses;
    private ulong _descriptorUserAddress;
    private ulong _availUserAddress;
    private ulong _usedUserAddress;

    /// <summary>Where the ring starts (SET_VRING_BASE) and, once stopped, where it stopped.</summary>
    private QueuePosition _base = QueuePosition.Initial;
    private EventFd? _kick;
    private EventFd? _call;
    private EventFd? _err;

    /// <summary>Memory generation <see cref="Queue"/> was resolved in (-1: resolve again).</summary>
    private long _generation;

    /// <summary>The ring's area of the inflight buffer, once attached.</summary>
    private InflightTracker? _inflight;

    public int Index { get; } = index;

    /// <summary>The running queue, from start (kick) to stop (GET_VRING_BASE) or a fault.</summary>
    public DeviceQueue? Queue { get; private set; }

    public bool IsRunning => Queue is not null;

    public bool Enabled { get; private set; }

    /// <summary>Set when the front end passed no kick descriptor: the worker polls the ring instead.</summary>
    public bool PollsWithoutKick { get; private set; }

    /// <summary>A kick, a start or an enable is waiting for the worker (under the gate).</summary>
    public bool Pending { get; set; }

    /// <summary>Whether the device may leave this ring's buffers untaken until its event source fires (a receive queue).</summary>
    public bool WaitsForEventSource => host.Device.WaitsForEventSource(Index);

    public void SetSize(int size) => Change(() =>
    {
        RequireStopped();
        _size = size;
    });

    public void SetAddresses(ulong descriptors, ulong avail, ulong used) => Change(() =>
    {
        _descriptorUserAddress = descriptors;
        _availUserAddress = avail;
        _usedUserAddress = used;
        _hasAddresses = true;
        _generation = -1; // a running ring is resolved again at its next batch
    });

    public void SetBase(QueuePosition position) => Change(() =>
    {
        RequireStopped();
        _base = position;
    });

    /// <summary>
    /// SET_VRING_CALL. On a running ring the new descriptor is signalled once at once: front ends
    /// such as QEMU set it after the kick (a migration's destination, a restart), so a completion
    /// published in between was signalled on the old one, where no one listens any more, and with
    /// EVENT_IDX the driver would wait for that interrupt for ever. A spurious interrupt costs the
    /// driver a look at the ring.
    /// </summary>
    public void SetCall(EventFd? call) => Change(() =>
    {
        _call?.Dispose();
        _call = call;
        if (Queue is not null)
        {
            call?.Signal();
        }
    });

    public void SetErr(EventFd? err) => Change(() =>
    {
        _err?.Dispose();
        _err = err;
    });

    public void SetEnabled(bool enabled) => Change(() =>
    {
        Enabled = enabled;
        Pending = true;
    });

    /// <summary>
    /// SET_VRING_KICK: resolves the queue in the current memory map, so a bad ring is refused
    /// here, and hands it to the worker. Takes <paramref name="kick"/> over (null: poll the ring).
    /// </summary>
    public void Start(EventFd? kick)
    {
        var memory = host.Memory;
        var started = false;
        lock (gate)
        {
            if (_size == 0 || !_hasAddresses || memory is null)
            {
                kick?.Dispose();
                throw new VhostUserProtocolException($"ring {Index} started before its size, addresses and the memory table were set");
            }

            worker.Unwatch(this);
            _kick?.Dispose();
            _kick = kick;
            PollsWithoutKick = kick is null;
            using var lease = memory.Acquire();
            started = Rebuild(lease);
            if (started)
            {
                worker.Watch(this, _kick, host.Device.QueueEventSource(Index));
                Pending = true;

                // A previous back end (killed, or stopped for a migration) may have published
                // completions and not lived to signal them; with EVENT_IDX the driver would wait
                // for that interrupt for ever, and this queue, which counts from the ring's used
                // index, would never judge one due. One spurious interrupt costs a look at the ring.
                _call?.Signal();
            }
        }

        worker.Poke();

        // Judged by the rebuild, not by the ring afterwards: its worker may already have run it
        // (and stopped it again on a bad chain, which is the guest's fault, logged on its own).
        if (!started)
        {
            throw new VhostUserProtocolException($"ring {Index} could not start (the guest error is logged above)");
        }
    }

    /// <summary>
    /// Stops the ring: the device finishes the work in flight on it, which is published, so the
    /// position returned (and kept for the next start) covers every request the device took.
    /// </summary>
    public QueuePosition Stop()
    {
        QueuePosition stoppedAt;
        lock (gate)
        {
            if (Queue is { } queue)
            {
                Drain(queue);
                Halt();
            }

            worker.Unwatch(this);
            _kick?.Dispose();
            _kick = null;
            PollsWithoutKick = false;
            stoppedAt = _base;
        }

        worker.Poke();
        return stoppedAt;
    }

    /// <summary>Back to the initial, stopped state, with its descriptors closed (the ring must be stopped).</summary>
    public void Reset() => Change(() =>
    {
        worker.Unwatch(this);
        _size = 0;
        _hasAddresses = false;
        _base = QueuePosition.Initial;
        _kick?.Dispose();
        _call?.Dispose();
        _err?.Dispose();
        _kick = _call = _err = null;
        PollsWithoutKick = false;
        Enabled = false;
        Queue = null;
        _inflight = null;
        Pending = false;
    });

    /// <summary>
    /// Worker side, under the gate: marks the ring as looked at and leases the memory map it runs
    /// in (resolving the ring again when the map changed); false, with nothing leased, when the
    /// ring cannot run now.
    /// </summary>
    public bool TryLease(out GuestMemoryLease lease)
    {
        Pending = false;
        lease = default;
        var memory = host.Memory;
        if (Queue is null || !Enabled || memory is null)
        {
            return false;
        }

        lease = memory.Acquire();
        if (lease.Generation != _generation && !Rebuild(lease))
        {
            lease.Dispose();
            lease = default;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Worker side, under the gate and a lease: lets the device process the ring once, publishes
    /// and interrupts; false when the ring stopped (the device threw or the guest broke the ring).
    /// </summary>
    public bool Process()
    {
        var queue = Queue!;
        try
        {
            host.Device.ProcessQueue(Index, queue);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            host.DeviceFailed(this, e);
            StopOnFault();
            return false;
        }

        Publish(queue);
        if (queue.IsBroken)
        {
            host.GuestFault(this, queue.Fault);
            StopOnFault();
            return false;
        }

        return true;
    }

    /// <summary>Lets the device finish the ring's requests in flight, then publishes them.</summary>
    private void Drain(DeviceQueue queue)
    {
        var memory = host.Memory;
        if (memory is null)
        {
            return;
        }

        using var lease = memory.Acquire();
        if (lease.Generation != _generation && !Rebuild(lease))
        {
            return;
        }

        try
        {
            host.Device.QuiesceQueue(Index, queue);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            host.DrainFailed(this, e);
            StopOnFault();
        }

        Publish(queue);
    }

    private void Publish(DeviceQueue queue)
    {
        queue.PublishUsed();
        if (queue.NeedsInterrupt())
        {
            _call?.Signal();
        }
    }

    /// <summary>After the host recorded a fault: stops the ring where it stands and raises the ring's error eventfd.</summary>
    private void StopOnFault()
    {
        Halt();
        _err?.Signal();
    }

    /// <summary>Takes the queue out of service, keeping its position as the base to resume from.</summary>
    private void Halt()
    {
        if (Queue is { } queue)
        {
            _base = queue.Position;
            Queue = null;
        }
    }

    /// <summary>Resolves the ring's user addresses in <paramref name="lease"/>'s map and creates its queue there.</summary>
    private unsafe bool Rebuild(GuestMemoryLease lease)
    {
        var memory = lease.Memory;
        var starting = Queue is null;
        var position = Queue?.Position ?? _base;
        if (!memory.TryUserToGuest(_descriptorUserAddress, out var descriptors)
            || !memory.TryUserToGuest(_availUserAddress, out var driverArea)
            || !memory.TryUserToGuest(_usedUserAddress, out var deviceArea))
        {
            host.GuestFault(this, QueueError.RingOutsideMemory);
            StopOnFault();
            return false;
        }

        var features = host.Features;
        var packed = (features & VirtioFeature.Bit(VirtioFeature.RingPacked)) != 0;
        var config = new QueueConfig(
            _size, descriptors, driverArea, deviceArea,
            (features & VirtioFeature.Bit(VirtioFeature.RingEventIdx)) != 0,
            (features & VirtioFeature.Bit(VirtioFeature.RingIndirectDesc)) != 0);
        QueueError error;
        DeviceQueue? queue;
        if (packed)
        {
            error = PackedQueue.TryCreate(memory, config, position, out var packedQueue);
            queue = packedQueue;
        }
        else
        {
            if (starting && memory.TryGetPointer(deviceArea + VirtqUsed.IdxOffset, 2, out var usedIdx) == MemoryFault.None)
            {
                // A split ring resumes at the used index the ring itself holds (spec: SET_VRING_BASE).
                position = position with { NextUsed = LittleEndian.ToHost(Volatile.Read(ref *(ushort*)usedIdx)) };
            }

            error = SplitQueue.TryCreate(memory, config, position, out var splitQueue);
            queue = splitQueue;
        }

        if (queue is null)
        {
            host.GuestFault(this, error);
            StopOnFault();
            return false;
        }

        if (host.Inflight is { } area && Index < area.QueueCount)
        {
            TrackInflight(area, queue, packed, recover: starting || _inflight is null);
        }

        Queue = queue;
        _generation = lease.Generation;
        return true;
    }

    /// <summary>
    /// Tracks the ring in the inflight buffer. At a ring start this recovers from it (resubmitting
    /// what a previous back end left in flight); a ring only moved to a new memory map continues.
    /// </summary>
    private void TrackInflight(InflightArea area, DeviceQueue queue, bool packed, bool recover)
    {
        if (area.Packed != packed)
        {
            throw new VhostUserProtocolException($"ring {Index} is {(packed ? "packed" : "split")}, but the inflight buffer is laid out for the other format");
        }

        if (recover)
        {
            var tracker = area.TrackerFor(Index);
            if (area.QueueSize != _size || !tracker.Matches)
            {
                throw new VhostUserProtocolException($"ring {Index} of {_size} entries does not match the inflight buffer ({area.QueueSize} entries)");
            }

            _inflight = tracker;
        }

        var resubmitted = queue.TrackInflight(_inflight!, recover);
        if (resubmitted > 0)
        {
            host.Resubmitting(this, resubmitted);
        }
    }

    private void RequireStopped()
    {
        if (Queue is not null)
        {
            throw new VhostUserProtocolException($"ring {Index} is running; stop it with GET_VRING_BASE first");
        }
    }

    /// <summary>
    /// Returns once the ring's worker is between turns. A worker uses the memory map it leased for
    /// a whole turn, under the gate; after this, a map published before the call is the one it uses.
    /// </summary>
    public void WaitForTurnEnd()
    {
        lock (gate)
        {
        }
    }

    /// <summary>Changes the ring under the gate, then lets the worker look at it.</summary>
    private void Change(Action change)
    {
        lock (gate)
        {
            change();
        }

        worker.Poke();
    }
}
