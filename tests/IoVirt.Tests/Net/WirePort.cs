using System.Collections.Concurrent;
using IoVirt.Abi.Net;
using IoVirt.Backends.Net;
using IoVirt.Interop;

namespace IoVirt.Tests.Net;

/// <summary>
/// The network beyond a switch's uplink, played by the test: it injects frames for the switch to
/// receive and collects what the switch sends, in order. It can hold the switch's sending (the
/// uplink thread waits in <see cref="Transmit"/>), to fill the switch's queues as a slow link would.
/// </summary>
internal sealed class WirePort : INetPort
{
    private readonly ConcurrentQueue<byte[]> _inbound = new();
    private readonly ManualResetEventSlim _open = new(initialState: true);
    private readonly EventFd _ready = EventFd.Create();

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
