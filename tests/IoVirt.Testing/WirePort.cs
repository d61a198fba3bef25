using System.Collections.Concurrent;
using IoVirt.Abi.Net;
using IoVirt.Backends.Net;
using IoVirt.Interop;

namespace IoVirt.Testing;

/// <summary>
/// The network beyond a switch's uplink, played by the test: it injects frames for the switch to
/// receive and collects what the switch sends, in order. It can hold the switch's sending (the
/// uplink thread waits in <see cref="Transmit"/>), to fill the switch's queues as a slow link would,
/// or wait until the switch has dealt with everything (<see cref="Settle"/>), to step it as a fuzzer does.
/// </summary>
public sealed class WirePort : INetPort
{
    private readonly ConcurrentQueue<byte[]> _inbound = new();
    private readonly ManualResetEventSlim _open = new(initialState: true);
    private readonly EventFd _ready = EventFd.Create();
    private readonly object _idle = new();

    /// <summary><see cref="Receive"/> calls that found nothing; under <see cref="_idle"/>.</summary>
    private long _idleReceives;

    /// <summary>Frames the switch sent (header removed), in order.</summary>
    public BlockingCollection<byte[]> Sent { get; } = [];

    public string Description => "test wire";

    public NetOffloads TransmitOffloads => NetOffloads.None;

    public NetOffloads ReceiveOffloads => NetOffloads.None;

    public void AcceptOffloads(NetOffloads offloads)
    {
    }

    /// <summary>Makes the switch receive <paramref name="frame"/>.</summary>
    public void Inject(byte[] frame)
    {
        _inbound.Enqueue([.. new byte[VirtioNetHdr.Size], .. frame]);
        _ready.Signal();
    }

    /// <summary>The next frame the switch sent; null after <paramref name="timeoutMs"/>.</summary>
    public byte[]? Next(int timeoutMs = 5000) => Sent.TryTake(out var frame, timeoutMs) ? frame : null;

    /// <summary>
    /// Returns once the switch's uplink thread has forwarded every frame injected so far and sent
    /// every frame queued for the wire so far. Its loop is "receive until nothing is left, send
    /// what is queued, wait": the first empty receive counted after this call began may have
    /// looked before it, the second did not, and the third begins after the send that followed.
    /// Must not be called while the wire is held.
    /// </summary>
    public void Settle()
    {
        lock (_idle)
        {
            var until = _idleReceives + 3;
            while (_idleReceives < until)
            {
                // One wake-up per round: the thread sleeps on this edge-triggered between rounds.
                _ready.Signal();
                if (!Monitor.Wait(_idle, 10_000))
                {
                    throw new TimeoutException("the switch's uplink thread stopped going round");
                }
            }
        }
    }

    public void Hold() => _open.Reset();

    public void Release() => _open.Set();

    public bool Transmit(int pair, ReadOnlySpan<byte> packet)
    {
        // Bounded, so a failing test cannot leave the switch's thread waiting forever.
        _ = _open.Wait(10_000);
        Sent.Add(packet[VirtioNetHdr.Size..].ToArray());
        return true;
    }

    public void TransmitBurstDone(int pair)
    {
    }

    public int Receive(int pair, Span<byte> destination)
    {
        if (!_inbound.TryDequeue(out var packet))
        {
            lock (_idle)
            {
                _idleReceives++;
                Monitor.PulseAll(_idle);
            }

            return 0;
        }

        packet.CopyTo(destination);
        return packet.Length;
    }

    public int ReceiveEventSource(int pair) => _ready.Fd;

    public void Reset()
    {
    }

    public void Dispose()
    {
        _open.Set();
        _ready.Dispose();
        _open.Dispose();
        Sent.Dispose();
    }
}
