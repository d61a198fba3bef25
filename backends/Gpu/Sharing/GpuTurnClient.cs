using System.Diagnostics;
using System.Runtime.InteropServices;
using IoVirt.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Backends.Gpu.Sharing;

/// <summary>
/// A guest's turns, granted by a <see cref="GpuTimeArbiter"/> over a Unix socket. A turn is a time
/// slice: while it lasts, the guest's next submissions run without asking again, and the turn
/// stays held for a linger after each one in case the next is on its way (a guest
/// drawing a frame sends many). A guest idle for the linger gives the GPU back (Done); one whose
/// next submission comes past the slice, or after the arbiter asked for the GPU back (Preempt,
/// for a guest that was idle and wants it now), gives it back and asks again at once (Yield).
/// A guest idle when the arbiter asks gives the GPU back at once (Done) rather than at the
/// linger's end. A guest with more commands queued when its submission ended is not idle: if its
/// next one is late (its thread waits for a core) or the arbiter asks, it gives the turn back and
/// asks again in one message (Yield), keeping its place, and the grant that answers is taken here
/// for the submission on its way, given back the same way while that is late; once the queue
/// stops (<see cref="Withdraw"/>) the turn goes back for good (Done). The GPU is never taken
/// away mid-submission: a guest coming back from idle waits for the holder's current
/// submission, and a busy one for at most a slice plus one submission. If the arbiter goes, the
/// guest is logged once and runs unarbitrated rather than hang.
/// </summary>
public sealed class GpuTurnClient : IGpuTurns, IDisposable
{
    private readonly object _gate = new();
    private readonly UnixSocket _socket;
    private readonly ILogger _logger;
    private readonly long _sliceTicks;
    private readonly long _lingerTicks;
    private readonly Thread _lingerer;
    private readonly byte[] _message = new byte[GpuTurnMessage.Size];
    private TurnState _state;
    private long _grantedAt;
    private long _idleSince;
    private bool _moreQueued;
    private ulong _submissions;
    private bool _lost;
    private bool _disposed;

    public GpuTurnClient(UnixSocket socket, TimeSpan slice, TimeSpan linger, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(slice, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(linger, TimeSpan.Zero);
        _socket = socket;
        _logger = logger ?? NullLogger.Instance;
        _sliceTicks = (long)(slice.TotalSeconds * Stopwatch.Frequency);
        _lingerTicks = (long)(linger.TotalSeconds * Stopwatch.Frequency);
        _lingerer = SelfNamedThread.Create("gpu turn linger", GiveBackIdleTurns);
        _lingerer.Start();
    }

    private enum TurnState
    {
        Idle,
        Waiting,
        Running,
        Lingering,

        /// <summary>Given back with more queued and asked for again (Yield): the lingerer takes the grant.</summary>
        Asked,
    }

    public void TakeTurn()
    {
        lock (_gate)
        {
            while (_state == TurnState.Asked)
            {
                Monitor.Wait(_gate);
            }

            if (_lost)
            {
                return;
            }

            if (_state == TurnState.Lingering && Stopwatch.GetTimestamp() - _grantedAt < _sliceTicks && !Preempted())
            {
                _state = TurnState.Running;
                _submissions++;
                return;
            }

            var kind = _state == TurnState.Lingering ? GpuTurnKind.Yield : GpuTurnKind.Request;
            if (!Send(kind, kind == GpuTurnKind.Yield ? _submissions : 0))
            {
                return;
            }

            _state = TurnState.Waiting;
        }

        // The grant comes on this thread alone: the lingerer touches the socket only for a held turn.
        var granted = ReceiveGrant();
        lock (_gate)
        {
            if (!granted)
            {
                Lose("the arbiter closed the connection or answered out of turn");
                return;
            }

            _state = TurnState.Running;
            _grantedAt = Stopwatch.GetTimestamp();
            _submissions = 1;
        }
    }

    public void EndTurn(bool moreQueued)
    {
        lock (_gate)
        {
            if (_state != TurnState.Running)
            {
                return;
            }

            _moreQueued = moreQueued;

            // Held on even past the slice: if more work comes, Yield asks for the next turn in the
            // same message that ends this one, so the arbiter counts this guest in its next choice.
            _state = TurnState.Lingering;
            _idleSince = Stopwatch.GetTimestamp();
            Monitor.PulseAll(_gate);
        }
    }

    public void Withdraw()
    {
        lock (_gate)
        {
            _moreQueued = false;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }

        // Wakes a lingerer waiting on the socket, too.
        _socket.Shutdown();
        _lingerer.Join();
        _socket.Dispose();
    }

    /// <summary>
    /// Gives a held turn back once the guest has sent nothing for the linger, or at once when the
    /// arbiter asks for it meanwhile: nothing of this guest's is on the GPU then, and a guest
    /// that waits should not wait for this one's bet on its next submission. Takes the grant
    /// that answers a Yield sent here, so the turn is held from then as any other.
    /// </summary>
    private void GiveBackIdleTurns()
    {
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
            {
                while (!_disposed && _state is not (TurnState.Lingering or TurnState.Asked))
                {
                    Monitor.Wait(_gate);
                }

                if (_disposed)
                {
                    return;
                }

                if (_state == TurnState.Asked)
                {
                    if (_socket.WaitReadable(0))
                    {
                        TakeAskedGrant();
                        continue;
                    }

                    // Bounded, so a disposal is seen.
                    wait = TimeSpan.FromMilliseconds(100);
                }
                else
                {
                    wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _idleSince + _lingerTicks);
                    if ((wait <= TimeSpan.Zero || Preempted()) && _state == TurnState.Lingering)
                    {
                        GiveBack();
                        continue;
                    }
                }
            }

            // Outside the lock, so the guest's next submission takes the turn on meanwhile; a
            // message from the arbiter or the linger's end, whichever comes first, wakes this.
            _socket.WaitReadable(wait);
        }
    }

    /// <summary>
    /// Ends the held turn (under the lock): Done, or with more queued Yield, which asks for the
    /// next turn in the same message.
    /// </summary>
    private void GiveBack()
    {
        var more = _moreQueued;
        _state = more ? TurnState.Asked : TurnState.Idle;
        Send(more ? GpuTurnKind.Yield : GpuTurnKind.Done, _submissions);
    }

    /// <summary>
    /// Reads the arbiter's message after a Yield sent here (under the lock): the grant makes the
    /// turn held, lingering for the submission on its way; a Preempt sent before the Yield arrived is passed over.
    /// </summary>
    private void TakeAskedGrant()
    {
        if (!Receive(out var kind) || kind is not (GpuTurnKind.Grant or GpuTurnKind.Preempt))
        {
            Lose("the arbiter closed the connection or answered out of turn");
            return;
        }

        if (kind == GpuTurnKind.Grant)
        {
            _state = TurnState.Lingering;
            _grantedAt = _idleSince = Stopwatch.GetTimestamp();
            _submissions = 0;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Sends one message (under the lock); false, with the arbiter counted lost, when it cannot.</summary>
    private bool Send(GpuTurnKind kind, ulong value)
    {
        var message = new GpuTurnMessage(kind, value);
        MemoryMarshal.Write(_message, in message);
        try
        {
            _socket.Send(_message);
            return true;
        }
        catch (IOException e)
        {
            Lose(e.Message);
            return false;
        }
    }

    /// <summary>Waits for the grant; a Preempt sent during the last turn, which the guest gave back anyway, is passed over.</summary>
    private bool ReceiveGrant()
    {
        while (Receive(out var kind))
        {
            if (kind != GpuTurnKind.Preempt)
            {
                return kind == GpuTurnKind.Grant;
            }
        }

        return false;
    }

    /// <summary>True when the arbiter has asked for the held turn back (a guest that was idle wants the GPU); under the lock, on the thread that takes turns.</summary>
    private bool Preempted()
    {
        var preempted = false;
        while (_socket.WaitReadable(0))
        {
            if (!Receive(out var kind) || kind != GpuTurnKind.Preempt)
            {
                Lose("the arbiter closed the connection or answered out of turn");
                return false;
            }

            preempted = true;
        }

        return preempted;
    }

    /// <summary>Reads one whole message from the arbiter; false when it closed or failed.</summary>
    private bool Receive(out GpuTurnKind kind)
    {
        kind = default;
        Span<byte> buffer = stackalloc byte[GpuTurnMessage.Size];
        Span<SafeFileHandle?> fds = default;
        var filled = 0;
        try
        {
            while (filled < buffer.Length)
            {
                var read = _socket.Receive(buffer[filled..], fds, out _);
                if (read == 0)
                {
                    return false;
                }

                filled += read;
            }
        }
        catch (IOException)
        {
            return false;
        }

        kind = MemoryMarshal.Read<GpuTurnMessage>(buffer).Kind;
        return true;
    }

    /// <summary>The arbiter is gone (under the lock): say so once, and run unarbitrated from now on.</summary>
    private void Lose(string why)
    {
        if (!_lost)
        {
            _logger.LogError("gpu: lost the GPU-time arbiter ({Reason}); this guest's GPU work now runs unarbitrated", why);
        }

        _lost = true;
        _state = TurnState.Idle;
        Monitor.PulseAll(_gate);
    }
}
