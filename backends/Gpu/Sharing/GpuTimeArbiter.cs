using System.Runtime.InteropServices;
using IoVirt.Arbitration;
using IoVirt.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Backends.Gpu.Sharing;

/// <summary>
/// One GPU's time shared among guests, each served by a GPU process of its own
/// (<see cref="GpuTurnClient"/>). The GPU runs one guest's turn at a time; which guest goes next is
/// the <see cref="MClockScheduler"/>'s call, over costs in nanoseconds of GPU time, so shares,
/// reservations and limits are fractions of the GPU's second (capacity 10⁹). A turn's cost is
/// known only when it ends: it is queued at a nominal nanosecond and settled at the time the turn
/// really held the GPU, measured here from grant to Done, so a guest cannot under-report. Its tags
/// so start where the guest's last turn ended, which makes the choice start-time fair queuing:
/// a guest back from idle goes before busy ones that have had their share, whatever its turns cost.
/// One thread; a guest that breaks the protocol or goes away is dropped with a log line, and
/// the others go on.
/// </summary>
public sealed class GpuTimeArbiter : IDisposable
{
    /// <summary>The GPU's capacity: nanoseconds of GPU time in a second.</summary>
    public const double Capacity = 1e9;

    /// <summary>What a turn is queued at, in nanoseconds, until it is settled at what it cost.</summary>
    private const double QueuedCost = 1;

    private readonly object _gate = new();
    private readonly MClockScheduler _scheduler = new(Capacity);
    private readonly Guest[] _guests;
    private readonly NanosecondClock _clock;
    private readonly TenantMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly Epoll _epoll = new();
    private readonly EventFd _stop = EventFd.Create();
    private readonly Thread _thread;
    private int _holder = -1;
    private Dispatch _turn;
    private long _grantedAt;
    private bool _preempted;
    private long _retryAt = long.MaxValue;

    /// <summary>Takes over the guests' sockets; throws <see cref="AdmissionRefusedException"/> when their reservations exceed the GPU.</summary>
    public GpuTimeArbiter(IReadOnlyList<GpuGuest> guests, TimeProvider time, TenantMetrics? metrics = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(guests);
        _clock = new NanosecondClock(time);
        _metrics = metrics;
        _logger = logger ?? NullLogger.Instance;
        _guests = new Guest[guests.Count];
        for (var i = 0; i < guests.Count; i++)
        {
            var index = _scheduler.AddTenant(guests[i].Share);
            _guests[index] = new Guest(guests[i].Name, guests[i].Socket);
            _epoll.Add(guests[i].Socket.Fd, (ulong)index);
        }

        _epoll.Add(_stop.Fd, ulong.MaxValue);
        _thread = new Thread(Run) { IsBackground = true, Name = "gpu time arbiter" };
        _thread.Start();
    }

    /// <summary>What each guest has had so far, by name: turns (Requests), GPU time (Cost, in nanoseconds), time waiting for turns and at its limit, and turns cancelled as it went.</summary>
    public IReadOnlyDictionary<string, TenantTotals> Report()
    {
        lock (_gate)
        {
            return _guests.ToDictionary(guest => guest.Name, guest => guest.Totals, StringComparer.Ordinal);
        }
    }

    /// <summary>Guests still connected.</summary>
    public int Connected
    {
        get
        {
            lock (_gate)
            {
                return _guests.Count(guest => !guest.Dropped);
            }
        }
    }

    public void Dispose()
    {
        _stop.Signal();
        _thread.Join();
        foreach (var guest in _guests)
        {
            guest.Socket.Dispose();
        }

        _epoll.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        Span<ulong> ready = stackalloc ulong[_guests.Length + 1];
        while (true)
        {
            var timeout = _retryAt == long.MaxValue ? -1 : (int)Math.Clamp((_retryAt - _clock.Now + 999_999) / 1_000_000, 1, int.MaxValue);
            var count = _epoll.Wait(ready, timeout);
            lock (_gate)
            {
                for (var i = 0; i < count; i++)
                {
                    if (ready[i] == ulong.MaxValue)
                    {
                        return;
                    }

                    Read((int)ready[i]);
                }

                GrantNext();
            }
        }
    }

    /// <summary>Reads what guest <paramref name="index"/> sent; a whole message is acted on.</summary>
    private void Read(int index)
    {
        var guest = _guests[index];
        if (guest.Dropped)
        {
            return;
        }

        int read;
        try
        {
            Span<SafeFileHandle?> fds = default;
            read = guest.Socket.Receive(guest.Message.AsSpan(guest.Filled), fds, out _);
        }
        catch (IOException e)
        {
            Drop(index, e.Message);
            return;
        }

        if (read == 0)
        {
            Drop(index, "its GPU process closed the connection", LogLevel.Information);
            return;
        }

        guest.Filled += read;
        if (guest.Filled < GpuTurnMessage.Size)
        {
            return;
        }

        guest.Filled = 0;
        var message = MemoryMarshal.Read<GpuTurnMessage>(guest.Message);
        var now = _clock.Now;
        switch (message.Kind)
        {
            case GpuTurnKind.Request when !guest.Queued && _holder != index:
                Enqueue(index, now, continued: false);
                Preempt();
                break;
            case GpuTurnKind.Done when _holder == index:
                EndTurn(guest, now);
                break;
            case GpuTurnKind.Yield when _holder == index:
                EndTurn(guest, now);
                Enqueue(index, now, continued: true);
                break;
            default:
                Drop(index, $"it sent {message.Kind} out of turn");
                break;
        }
    }

    /// <summary>
    /// A guest back from idle wants the GPU: the holder is asked (once a turn) to give it back
    /// after its current submission, and the scheduler then weighs them all. Guests that stay
    /// busy ask by Yield and wait for the slice's end, so they switch no more often than that.
    /// </summary>
    private void Preempt()
    {
        if (_holder < 0 || _preempted)
        {
            return;
        }

        _preempted = true;
        Tell(_holder, GpuTurnKind.Preempt);
    }

    /// <summary>Sends guest <paramref name="index"/> a message; false, with the guest dropped, when it cannot take it.</summary>
    private bool Tell(int index, GpuTurnKind kind)
    {
        var message = new GpuTurnMessage(kind, 0);
        try
        {
            _guests[index].Socket.Send(MemoryMarshal.AsBytes(new ReadOnlySpan<GpuTurnMessage>(in message)));
            return true;
        }
        catch (IOException e)
        {
            Drop(index, e.Message);
            return false;
        }
    }

    /// <summary>Guest <paramref name="index"/> waits for a turn; <paramref name="continued"/>: it asks as its own turn ends (Yield), a backlogged guest.</summary>
    private void Enqueue(int index, long now, bool continued)
    {
        var guest = _guests[index];
        guest.Queued = true;
        _scheduler.Enqueue(index, QueuedCost, index, now, continued);
    }

    /// <summary>The holder's turn is over: charge it the time it held the GPU.</summary>
    private void EndTurn(Guest guest, long now)
    {
        var held = Math.Max(now - _grantedAt, 1);
        _scheduler.Settle(_turn, held);
        var waited = (_grantedAt - _turn.EnqueuedAt) / 1e3;
        var totals = guest.Totals;
        guest.Totals = totals with
        {
            Requests = totals.Requests + 1,
            Cost = totals.Cost + held,
            QueueWaitMicroseconds = totals.QueueWaitMicroseconds + waited,
        };
        _metrics?.Completed(guest.Name, 0, held, waited, (now - _turn.EnqueuedAt) / 1e3);
        _holder = -1;
    }

    /// <summary>With the GPU free, grants the next turn the scheduler releases.</summary>
    private void GrantNext()
    {
        while (_holder < 0)
        {
            var now = _clock.Now;
            if (!_scheduler.TryDequeue(now, out var turn, out _retryAt))
            {
                return;
            }

            var guest = _guests[turn.Tenant];
            guest.Queued = false;
            if (!Tell(turn.Tenant, GpuTurnKind.Grant))
            {
                continue;
            }

            _holder = turn.Tenant;
            _turn = turn;
            _grantedAt = now;
            _preempted = false;
            if (turn.ThrottledNanoseconds > 0)
            {
                guest.Totals = guest.Totals with { ThrottledMicroseconds = guest.Totals.ThrottledMicroseconds + (turn.ThrottledNanoseconds / 1e3) };
                _metrics?.Throttled(guest.Name, turn.ThrottledNanoseconds / 1e3);
            }
        }
    }

    /// <summary>Stops listening to a guest: its waiting turn is cancelled and a turn it held ends now, charged.</summary>
    private void Drop(int index, string why, LogLevel level = LogLevel.Warning)
    {
        var guest = _guests[index];
        _logger.Log(level, "gpu share: guest {Guest} dropped: {Reason}", guest.Name, why);
        guest.Dropped = true;
        _epoll.Remove(guest.Socket.Fd);
        guest.Socket.Shutdown();
        if (guest.Queued)
        {
            guest.Queued = false;
            _scheduler.Cancel(index, _ => true);
            guest.Totals = guest.Totals with { Cancelled = guest.Totals.Cancelled + 1 };
        }

        if (_holder == index)
        {
            EndTurn(guest, _clock.Now);
        }
    }

    /// <summary>What the arbiter keeps of one guest.</summary>
    private sealed class Guest(string name, UnixSocket socket)
    {
        public string Name { get; } = name;

        public UnixSocket Socket { get; } = socket;

        public byte[] Message { get; } = new byte[GpuTurnMessage.Size];

        public int Filled { get; set; }

        public bool Queued { get; set; }

        public bool Dropped { get; set; }

        public TenantTotals Totals { get; set; }
    }
}
