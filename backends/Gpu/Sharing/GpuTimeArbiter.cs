using System.Runtime.InteropServices;
using IoVirt.Arbitration;
using IoVirt.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Backends.Gpu.Sharing;

/// <summary>
/// One GPU's time shared among guests, each served by a GPU process of its own
/// (<see cref="GpuTurnClient"/>): the sockets of a <see cref="GpuTurnTable"/>, which decides. The
/// GPU runs one guest's turn at a time; which guest goes next is the <see cref="MClockScheduler"/>'s
/// call over nanoseconds of GPU time, so shares, reservations and limits are fractions of the
/// GPU's second (capacity 10⁹). A turn is measured here, from the Grant sent to the Done or Yield
/// received, so a guest cannot under-report. One thread; a guest that breaks the protocol or goes
/// away is dropped with a log line, and the others go on.
/// </summary>
public sealed class GpuTimeArbiter : IDisposable
{
    private readonly object _gate = new();
    private readonly GpuTurnTable _table;
    private readonly Connection[] _guests;
    private readonly NanosecondClock _clock;
    private readonly ILogger _logger;
    private readonly Epoll _epoll = new();
    private readonly EventFd _stop = EventFd.Create();
    private readonly Thread _thread;
    private long _retryAt = long.MaxValue;

    /// <summary>
    /// Takes over the guests' sockets; throws <see cref="AdmissionRefusedException"/> when their
    /// reservations exceed the GPU. <paramref name="idleCredit"/>: how much GPU time a guest back
    /// from idle, below its share lately, may run before the busy ones' next turn (<see cref="GpuTurnTable"/>).
    /// </summary>
    public GpuTimeArbiter(IReadOnlyList<GpuGuest> guests, TimeProvider time, TenantMetrics? metrics = null, ILogger? logger = null, TimeSpan idleCredit = default)
    {
        ArgumentNullException.ThrowIfNull(guests);
        _clock = new NanosecondClock(time);
        _logger = logger ?? NullLogger.Instance;
        _table = new GpuTurnTable(guests.Select(guest => (guest.Name, guest.Share)).ToList(), metrics, idleCredit);
        _guests = guests.Select(guest => new Connection(guest.Name, guest.Socket)).ToArray();
        for (var i = 0; i < _guests.Length; i++)
        {
            _epoll.Add(_guests[i].Socket.Fd, (ulong)i);
        }

        _epoll.Add(_stop.Fd, ulong.MaxValue);
        _thread = SelfNamedThread.Create("gpu time arbiter", Run);
        _thread.Start();
    }

    /// <summary>What each guest has had so far, by name: turns (Requests), GPU time (Cost, in nanoseconds), time waiting for turns and at its limit, and turns cancelled as it went.</summary>
    public IReadOnlyDictionary<string, TenantTotals> Report()
    {
        lock (_gate)
        {
            return _table.Report();
        }
    }

    /// <summary>Guests still connected.</summary>
    public int Connected
    {
        get
        {
            lock (_gate)
            {
                return _table.Connected;
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

    /// <summary>Reads what guest <paramref name="index"/> sent; a whole message goes to the table.</summary>
    private void Read(int index)
    {
        var guest = _guests[index];
        if (!_table.IsConnected(index))
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
        var kind = message.Kind;
        if (kind is GpuTurnKind.Done or GpuTurnKind.Yield && _logger.IsEnabled(LogLevel.Debug))
        {
            _logger.LogDebug("gpu share: guest {Guest} ended a turn of {Submissions} submission(s)", guest.Name, message.Value);
        }

        switch (_table.Receive(index, kind, _clock.Now))
        {
            case GpuTurnVerdict.PreemptHolder:
                Tell(_table.Holder, GpuTurnKind.Preempt);
                break;
            case GpuTurnVerdict.Drop:
                Drop(index, $"it sent {kind} out of turn");
                break;
        }
    }

    /// <summary>With the GPU free, grants the next turn the table gives.</summary>
    private void GrantNext()
    {
        int next;
        while ((next = _table.GrantNext(_clock.Now, out _retryAt)) >= 0 && !Tell(next, GpuTurnKind.Grant))
        {
            // That guest could not take its grant and is dropped: the next one goes.
        }
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

    /// <summary>Stops listening to a guest and closes on it; the table cancels its turn.</summary>
    private void Drop(int index, string why, LogLevel level = LogLevel.Warning)
    {
        var guest = _guests[index];
        _logger.Log(level, "gpu share: guest {Guest} dropped: {Reason}", guest.Name, why);
        _epoll.Remove(guest.Socket.Fd);
        guest.Socket.Shutdown();
        _table.Drop(index, _clock.Now);
    }

    /// <summary>One guest's socket and the message being read from it.</summary>
    private sealed class Connection(string name, UnixSocket socket)
    {
        public string Name { get; } = name;

        public UnixSocket Socket { get; } = socket;

        public byte[] Message { get; } = new byte[GpuTurnMessage.Size];

        public int Filled { get; set; }
    }
}
