using System.Diagnostics;
using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Virtqueue;

namespace IoVirt.VhostUser;

/// <summary>
/// A dedicated thread that runs one group of rings: it waits on their kick eventfds with epoll,
/// lets the device process a ring, publishes, signals the call eventfd when the driver asked
/// for it, and re-enables notifications until the ring stays empty. The session changes the
/// rings only under <see cref="Gate"/>, which the worker holds while it processes.
/// </summary>
internal sealed class QueueWorker : IDisposable
{
    private const ulong WakeToken = ulong.MaxValue;

    /// <summary>Rounds on one ring before the others get a turn.</summary>
    private const int RoundsPerTurn = 64;

    private readonly IRingHost _host;
    private readonly Epoll _epoll = new();
    private readonly EventFd _wake = EventFd.Create();
    private readonly List<Vring> _rings = [];

    /// <summary>The rings whose descriptors are in the epoll set.</summary>
    private readonly HashSet<int> _watched = [];
    private readonly Thread _thread;
    private readonly TimeSpan _busyPoll;
    private volatile bool _stopping;

    public QueueWorker(IRingHost host, string name, TimeSpan busyPoll)
    {
        _host = host;
        _busyPoll = busyPoll;
        _epoll.Add(_wake.Fd, WakeToken);
        _thread = new Thread(Run) { Name = name, IsBackground = true };
        _thread.Start();
    }

    public object Gate { get; } = new();

    /// <summary>Adds a ring to this worker's group (under <see cref="Gate"/>).</summary>
    public void Attach(Vring ring) => _rings.Add(ring);

    /// <summary>Starts waiting on the ring's kick descriptor and the device's event source for it, in place of what it waited on before (under <see cref="Gate"/>).</summary>
    public void Watch(Vring ring)
    {
        Unwatch(ring);
        _watched.Add(ring.Index);
        if (ring.Kick is not null)
        {
            // Edge-triggered, and never read: each kick is one write, which reports a new edge
            // even while the counter is non-zero, so the read per wake-up can be saved.
            _epoll.Add(ring.Kick.Fd, (ulong)ring.Index, edgeTriggered: true);
        }

        ring.EventSource = _host.Device.QueueEventSource(ring.Index);
        if (ring.EventSource >= 0)
        {
            _epoll.Add(ring.EventSource, (ulong)ring.Index, edgeTriggered: true);
        }
    }

    /// <summary>
    /// Stops waiting on the ring's descriptors, if it was waiting on them (under <see cref="Gate"/>).
    /// A ring stopped by a guest fault is still watched, so every path that restarts or stops a
    /// ring calls this: the device's event source stays the same descriptor, and adding it twice fails.
    /// </summary>
    public void Unwatch(Vring ring)
    {
        if (!_watched.Remove(ring.Index))
        {
            return;
        }

        if (ring.Kick is not null)
        {
            _epoll.Remove(ring.Kick.Fd);
        }

        if (ring.EventSource >= 0)
        {
            _epoll.Remove(ring.EventSource);
            ring.EventSource = -1;
        }
    }

    /// <summary>Makes the worker look at its rings again (after a start, an enable or a memory change).</summary>
    public void Poke() => _wake.Signal();

    private void Run()
    {
        try
        {
            Loop();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Outside a ring's processing, which contains its own faults: a fault of ours or of a
            // device hook. It ends this session, never the process and the other guests with it.
            _host.WorkerFailed(e);
        }
    }

    private void Loop()
    {
        Span<ulong> ready = stackalloc ulong[16];
        var timeout = -1;
        while (!_stopping)
        {
            var count = _epoll.Wait(ready, timeout);
            bool worked;
            lock (Gate)
            {
                for (var i = 0; i < count; i++)
                {
                    if (ready[i] == WakeToken)
                    {
                        _wake.TryConsume();
                        continue;
                    }

                    var ring = FindRing((int)ready[i]);
                    if (ring is not null)
                    {
                        ring.Pending = true;
                    }
                }

                worked = RunPendingRings();
                timeout = AnyPending() ? 0 : -1;
            }

            if (worked && timeout < 0 && _busyPoll > TimeSpan.Zero)
            {
                // Rings that got buffers just before notifications came back on will not be kicked:
                // look at them again at once instead of sleeping.
                timeout = BusyPoll() ? 0 : -1;
            }
        }
    }

    /// <summary>
    /// Polls every ring for a bounded time before going back to sleep, the window restarting
    /// whenever work turns up. Notifications stay off while polling (a driver that sees them
    /// on kicks, a system call per burst on its side), and are asked for again only before
    /// sleeping; rings that got buffers meanwhile are left pending, and then it returns true. The
    /// gate is taken per round, so the session can still change rings.
    /// </summary>
    private bool BusyPoll()
    {
        var window = (long)(_busyPoll.TotalSeconds * Stopwatch.Frequency);
        var until = Stopwatch.GetTimestamp() + window;
        while (!_stopping)
        {
            lock (Gate)
            {
                var worked = false;
                foreach (var ring in _rings)
                {
                    worked |= PollRing(ring);
                }

                var now = Stopwatch.GetTimestamp();
                if (worked)
                {
                    until = now + window;
                }
                else if (now >= until)
                {
                    var leftPending = false;
                    foreach (var ring in _rings)
                    {
                        if (ring.Queue is { } queue && ring.Enabled && queue.EnableNotifications())
                        {
                            ring.Pending = true;
                            leftPending = true;
                        }
                    }

                    return leftPending;
                }
            }
        }

        return false;
    }

    private bool RunPendingRings()
    {
        var worked = false;
        foreach (var ring in _rings)
        {
            if (ring.Pending || ring.PollsWithoutKick)
            {
                worked |= RunRing(ring);
            }
        }

        return worked;
    }

    private bool AnyPending()
    {
        foreach (var ring in _rings)
        {
            if (ring.Pending || (ring.PollsWithoutKick && ring.Queue is not null))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Processes one ring until it stays empty or its turn is over; true when it did any work.</summary>
    private bool RunRing(Vring ring)
    {
        if (!TryLease(ring, out var lease))
        {
            return false;
        }

        using var held = lease;
        var queue = ring.Queue!;
        var before = queue.Position;
        var tookNothingBefore = false;
        for (var round = 0; round < RoundsPerTurn; round++)
        {
            queue.DisableNotifications();
            var roundStart = queue.Position;
            if (!Round(ring, queue))
            {
                return true;
            }

            // A receive queue with no packets takes nothing although buffers wait: it is woken
            // by its event source, not by polling the ring again. But buffers may also have come
            // after the device looked, while notifications were off, so without a kick: one more
            // round sees them; a device that declines them takes nothing twice.
            var tookNothing = queue.Position == roundStart && _host.Device.WaitsForEventSource(ring.Index);
            if (!queue.EnableNotifications() || (tookNothing && tookNothingBefore))
            {
                return queue.Position != before;
            }

            tookNothingBefore = tookNothing;
        }

        ring.Pending = true;
        return true;
    }

    /// <summary>
    /// Marks the ring as looked at and leases the memory map it runs in (rebuilding the ring
    /// when the map changed); false, with nothing leased, when the ring cannot run now.
    /// </summary>
    private bool TryLease(Vring ring, out GuestMemoryLease lease)
    {
        ring.Pending = false;
        lease = default;
        var memory = _host.Memory;
        if (ring.Queue is null || !ring.Enabled || memory is null)
        {
            return false;
        }

        lease = memory.Acquire();
        if (lease.Generation != ring.Generation && !_host.Rebuild(ring, lease))
        {
            lease.Dispose();
            lease = default;
            return false;
        }

        return true;
    }

    /// <summary>One busy-polling round on a ring, notifications left off; true when it did any work.</summary>
    private bool PollRing(Vring ring)
    {
        if (!TryLease(ring, out var lease))
        {
            return false;
        }

        using var held = lease;
        var queue = ring.Queue!;
        queue.DisableNotifications();
        var start = queue.Position;
        return !Round(ring, queue) || queue.Position != start;
    }

    /// <summary>
    /// Lets the device process the ring once, publishes and interrupts; false when the ring
    /// stopped (the device threw or the guest broke the ring: the device needs a reset).
    /// </summary>
    private bool Round(Vring ring, DeviceQueue queue)
    {
        try
        {
            _host.Device.ProcessQueue(ring.Index, queue);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _host.DeviceFailed(ring, e);
            return false;
        }

        queue.PublishUsed();
        if (queue.NeedsInterrupt())
        {
            ring.Call?.Signal();
        }

        if (queue.IsBroken)
        {
            _host.GuestFault(ring, queue.Fault);
            return false;
        }

        return true;
    }

    private Vring? FindRing(int index)
    {
        foreach (var ring in _rings)
        {
            if (ring.Index == index)
            {
                return ring;
            }
        }

        return null;
    }

    public void Dispose()
    {
        _stopping = true;
        Poke();
        _thread.Join();
        _epoll.Dispose();
        _wake.Dispose();
    }
}

/// <summary>What a <see cref="QueueWorker"/> needs from the session that owns its rings.</summary>
internal interface IRingHost
{
    VirtioDeviceModel Device { get; }

    AtomicGuestMemory? Memory { get; }

    /// <summary>Resolves the ring again in the leased memory map; false when it no longer fits (the ring is then faulted).</summary>
    bool Rebuild(Vring ring, GuestMemoryLease lease);

    /// <summary>The guest broke the ring: the device needs a reset.</summary>
    void GuestFault(Vring ring, QueueError error);

    /// <summary>The device model threw: the device needs a reset; the daemon goes on.</summary>
    void DeviceFailed(Vring ring, Exception error);

    /// <summary>The worker's own loop failed and stopped: the session must end; the daemon goes on.</summary>
    void WorkerFailed(Exception error);
}
