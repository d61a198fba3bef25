using System.Diagnostics;
using IoVirt.Interop;

namespace IoVirt.VhostUser;

/// <summary>
/// A dedicated thread that runs one group of rings: it waits on their kick eventfds with epoll,
/// lets the device process a ring, publishes, signals the call eventfd when the driver asked
/// for it, and re-enables notifications until the ring stays empty. It holds its group's gate
/// while it runs the rings; a <see cref="Vring"/> takes the same gate to change itself.
/// </summary>
internal sealed class QueueWorker : IDisposable
{
    private const ulong WakeToken = ulong.MaxValue;

    /// <summary>Rounds on one ring before the others get a turn.</summary>
    private const int RoundsPerTurn = 64;

    private readonly IRingHost _host;
    private readonly object _gate;
    private readonly Epoll _epoll = new();
    private readonly EventFd _wake = EventFd.Create();
    private readonly List<Vring> _rings = [];

    /// <summary>The descriptors in the epoll set, by ring: its kick and the device's event source (-1: none).</summary>
    private readonly Dictionary<int, (int Kick, int EventSource)> _watched = [];
    private readonly Thread _thread;
    private readonly TimeSpan _busyPoll;
    private volatile bool _stopping;

    public QueueWorker(IRingHost host, object gate, string name, TimeSpan busyPoll)
    {
        _host = host;
        _gate = gate;
        _busyPoll = busyPoll;
        _epoll.Add(_wake.Fd, WakeToken);
        _thread = SelfNamedThread.Create(name, Run);
        _thread.Start();
    }

    /// <summary>Adds a ring to this worker's group, before the worker runs it.</summary>
    public void Attach(Vring ring) => _rings.Add(ring);

    /// <summary>
    /// Starts waiting on the ring's <paramref name="kick"/> (if any) and the device's
    /// <paramref name="eventSource"/> for it (if not -1), in place of what it waited on before
    /// (under the gate).
    /// </summary>
    public void Watch(Vring ring, EventFd? kick, int eventSource)
    {
        Unwatch(ring);
        var kickFd = kick?.Fd ?? -1;
        if (kickFd >= 0)
        {
            // Edge-triggered, and never read: each kick is one write, which reports a new edge
            // even while the counter is non-zero, so the read per wake-up can be saved.
            _epoll.Add(kickFd, (ulong)ring.Index, edgeTriggered: true);
        }

        if (eventSource >= 0)
        {
            _epoll.Add(eventSource, (ulong)ring.Index, edgeTriggered: true);
        }

        _watched[ring.Index] = (kickFd, eventSource);
    }

    /// <summary>
    /// Stops waiting on the ring's descriptors, if it was waiting on them (under the gate), before
    /// they are closed. A ring stopped by a guest fault is still watched, so every path that
    /// restarts or stops a ring calls this: the device's event source stays the same descriptor,
    /// and adding it twice fails.
    /// </summary>
    public void Unwatch(Vring ring)
    {
        if (!_watched.Remove(ring.Index, out var watched))
        {
            return;
        }

        if (watched.Kick >= 0)
        {
            _epoll.Remove(watched.Kick);
        }

        if (watched.EventSource >= 0)
        {
            _epoll.Remove(watched.EventSource);
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
            lock (_gate)
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
                timeout = AnyPending() || AnyUnannouncedWork() ? 0 : -1;
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
    /// gate is taken per round, so the session can still change rings. Where the device's work
    /// finishes on threads of this core, a round that found nothing gives the core up to them.
    /// </summary>
    private bool BusyPoll()
    {
        var window = (long)(_busyPoll.TotalSeconds * Stopwatch.Frequency);
        var until = Stopwatch.GetTimestamp() + window;
        var yieldsWhenIdle = _host.Device.YieldsWhilePolling;
        while (!_stopping)
        {
            bool worked;
            lock (_gate)
            {
                worked = false;
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
                        leftPending |= AskForNotifications(ring);
                    }

                    return leftPending | AnyUnannouncedWork();
                }
            }

            if (!worked && yieldsWhenIdle)
            {
                Thread.Yield();
            }
        }

        return false;
    }

    /// <summary>
    /// Turns a ring's notifications back on before sleeping; true (and the ring pending) when
    /// buffers came meanwhile. The write goes through a lease like every other one, so it lands
    /// in the map published now, and in its dirty log, without relying on a round just before.
    /// </summary>
    private static bool AskForNotifications(Vring ring)
    {
        if (!ring.TryLease(out var lease))
        {
            return false;
        }

        using var held = lease;
        ring.Pending = ring.Queue!.EnableNotifications();
        return ring.Pending;
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

    /// <summary>Before sleeping: marks pending the running rings whose device has work no descriptor will announce; true when there is any.</summary>
    private bool AnyUnannouncedWork()
    {
        var any = false;
        foreach (var ring in _rings)
        {
            if (ring.IsRunning && ring.Enabled && _host.Device.HasUnannouncedWork(ring.Index))
            {
                ring.Pending = true;
                any = true;
            }
        }

        return any;
    }

    /// <summary>Processes one ring until it stays empty or its turn is over; true when it did any work.</summary>
    private static bool RunRing(Vring ring)
    {
        if (!ring.TryLease(out var lease))
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
            if (!ring.Process())
            {
                return true;
            }

            // A receive queue with no packets takes nothing although buffers wait: it is woken
            // by its event source, not by polling the ring again. But buffers may also have come
            // after the device looked, while notifications were off, so without a kick: one more
            // round sees them; a device that declines them takes nothing twice.
            var tookNothing = queue.Position == roundStart && ring.WaitsForEventSource;
            if (!queue.EnableNotifications() || (tookNothing && tookNothingBefore))
            {
                return queue.Position != before;
            }

            tookNothingBefore = tookNothing;
        }

        ring.Pending = true;
        return true;
    }

    /// <summary>One busy-polling round on a ring, notifications left off; true when it did any work.</summary>
    private static bool PollRing(Vring ring)
    {
        if (!ring.TryLease(out var lease))
        {
            return false;
        }

        using var held = lease;
        var queue = ring.Queue!;
        queue.DisableNotifications();
        var start = queue.Position;
        return !ring.Process() || queue.Position != start;
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
