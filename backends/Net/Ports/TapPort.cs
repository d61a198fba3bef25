using IoVirt.Interop;

namespace IoVirt.Backends.Net.Ports;

/// <summary>
/// A Linux TAP interface, one TAP queue per queue pair (IFF_MULTI_QUEUE for more than one),
/// with IFF_VNET_HDR: the virtio-net header goes through unchanged, so checksum and TCP
/// segmentation offloads reach the host stack and come back from it. A frame the TAP refuses
/// (its queue full, the interface down) is dropped.
/// </summary>
public sealed class TapPort : INetPort
{
    private const int Eagain = 11;

    private readonly TapDevice[] _queues;

    public TapPort(string name, int pairs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pairs, 1);
        _queues = new TapDevice[pairs];
        try
        {
            for (var i = 0; i < pairs; i++)
            {
                _queues[i] = TapDevice.Open(name, multiQueue: pairs > 1, Abi.Net.VirtioNetHdr.Size);
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        // Until the guest says what it accepts, the kernel finishes everything itself.
        AcceptOffloads(NetOffloads.None);
    }

    public string Name => _queues[0].Name;

    public string Description => $"tap {Name}, {_queues.Length} queue(s)";

    public NetOffloads TransmitOffloads => NetOffloads.Csum | NetOffloads.Tso4 | NetOffloads.Tso6 | NetOffloads.Ecn;

    public NetOffloads ReceiveOffloads => NetOffloads.Csum | NetOffloads.Tso4 | NetOffloads.Tso6 | NetOffloads.Ecn;

    public void AcceptOffloads(NetOffloads offloads)
    {
        var tap = ((offloads & NetOffloads.Csum) != 0 ? TapDevice.Offloads.Csum : 0)
            | ((offloads & NetOffloads.Tso4) != 0 ? TapDevice.Offloads.Tso4 : 0)
            | ((offloads & NetOffloads.Tso6) != 0 ? TapDevice.Offloads.Tso6 : 0)
            | ((offloads & NetOffloads.Ecn) != 0 ? TapDevice.Offloads.TsoEcn : 0);
        foreach (var queue in _queues)
        {
            queue.SetOffloads(tap);
        }
    }

    public bool Transmit(int pair, ReadOnlySpan<byte> packet) => _queues[pair].Write(packet) == packet.Length;

    public void TransmitBurstDone(int pair)
    {
    }

    public int Receive(int pair, Span<byte> destination)
    {
        var n = _queues[pair].Read(destination);
        return n == -Eagain ? 0 : Math.Max(n, 0);
    }

    public int ReceiveEventSource(int pair) => _queues[pair].Fd;

    /// <summary>Frames queued in the kernel belong to the network the TAP is on, not to one front end: the next one on this interface gets them.</summary>
    public void Reset()
    {
    }

    public void Dispose()
    {
        foreach (var queue in _queues)
        {
            queue?.Dispose();
        }
    }
}
