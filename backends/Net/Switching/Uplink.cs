using IoVirt.Interop;
using Microsoft.Extensions.Logging;

namespace IoVirt.Backends.Net.Switching;

/// <summary>
/// The thread that joins a switch to its uplink port: it takes the uplink's frames and hands them
/// to the switch, and sends the frames guests queued for the uplink in fair order. It sleeps on
/// the uplink's receive event source and the queues' ready signal; a port without an event
/// source is polled every millisecond. Work comes in batches, so neither direction starves the
/// other. A failure is logged and the thread tries again after a pause; it never ends the process.
/// </summary>
internal sealed class Uplink : IDisposable
{
    private const int Batch = 64;
    private const ulong QueuedToken = 0;
    private const ulong ReceivedToken = 1;

    /// <summary>The longest wait between tries of an uplink that keeps failing.</summary>
    private const int MaxRetryMs = 5000;

    private readonly NetSwitch _switch;
    private readonly INetPort _port;
    private readonly FairFrameQueues _queues;
    private readonly UplinkCounters _counters;
    private readonly ILogger _log;
    private readonly Epoll _epoll = new();
    private readonly byte[] _received;
    private readonly byte[] _sending;
    private readonly int _idleTimeout;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public Uplink(NetSwitch owner, INetPort port, FairFrameQueues queues, UplinkCounters counters, ILogger log)
    {
        _log = log;
        _switch = owner;
        _port = port;
        _queues = queues;
        _counters = counters;
        _received = GC.AllocateUninitializedArray<byte>(queues.SlotBytes);
        _sending = GC.AllocateUninitializedArray<byte>(queues.SlotBytes);
        _epoll.Add(queues.Ready.Fd, QueuedToken);
        var source = port.ReceiveEventSource(0);
        if (source >= 0)
        {
            // Edge-triggered like a device worker: a batch may leave frames unread, and then the
            // thread goes round again without sleeping.
            _epoll.Add(source, ReceivedToken, edgeTriggered: true);
        }

        _idleTimeout = source >= 0 ? -1 : 1;
        _thread = SelfNamedThread.Create($"switch uplink {port.Description}", Run);
        _thread.Start();
    }

    private void Run()
    {
        Span<ulong> ready = stackalloc ulong[2];
        var timeout = 0;
        var failures = 0;
        while (!_stopping)
        {
            try
            {
                _ = _epoll.Wait(ready, timeout);
                _ = _queues.Ready.TryConsume();
                var more = TakeFromUplink();
                more |= SendToUplink();
                timeout = more ? 0 : _idleTimeout;
                failures = 0;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The uplink failing (its TAP gone, or a fault of ours) must not end the process:
                // the guests still reach each other through the switch. Try again, less often the
                // longer it keeps failing.
                failures++;
                _log.LogError(e, "switch uplink {Port} failed ({Count} in a row); trying again", _port.Description, failures);
                Pause(Math.Min(MaxRetryMs, 10 << Math.Min(failures, 10)));
                timeout = 0;
            }
        }
    }

    /// <summary>Waits <paramref name="milliseconds"/>, or less when the uplink is stopping.</summary>
    private void Pause(int milliseconds)
    {
        for (var waited = 0; waited < milliseconds && !_stopping; waited += 20)
        {
            Thread.Sleep(20);
        }
    }

    /// <summary>Hands up to a batch of the uplink's frames to the switch; true when there may be more.</summary>
    private bool TakeFromUplink()
    {
        for (var i = 0; i < Batch; i++)
        {
            var length = _port.Receive(0, _received);
            if (length == 0)
            {
                return false;
            }

            _counters.Receive();
            _switch.ForwardFromUplink(_received.AsSpan(0, length));
        }

        return true;
    }

    /// <summary>Sends up to a batch of queued frames; true when there may be more.</summary>
    private bool SendToUplink()
    {
        var sent = 0;
        int length;
        while (sent < Batch && (length = _queues.TryDequeue(_sending, out var source)) > 0)
        {
            _switch.SentUp(source);
            _counters.Send(_port.Transmit(0, _sending.AsSpan(0, length)));
            sent++;
        }

        if (sent > 0)
        {
            _port.TransmitBurstDone(0);
        }

        return sent == Batch;
    }

    /// <summary>Stops the thread and waits for it; the port and the queues stay with their owner.</summary>
    public void Dispose()
    {
        _stopping = true;
        _queues.Ready.Signal();
        _thread.Join();
        _epoll.Dispose();
    }
}
