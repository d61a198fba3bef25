using IoVirt.Abi.Net;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Switching;

namespace IoVirt.Testing;

/// <summary>
/// A switch port's inbound path in one thread, without devices: two ports of weights 1 and 2
/// send 64- and 1400-byte frames to a third, whose guest side takes what the fair queues give.
/// Each round both send and the receiver takes two frames, so the queues stay part full. What
/// the allocation test checks.
/// </summary>
public sealed class SwitchInboundWorkload : IDisposable
{
    private static readonly byte[] ReceiverMac = [0x02, 0, 0, 0, 0, 0x0c];

    private readonly NetSwitch _switch = new();
    private readonly SwitchPort _small;
    private readonly SwitchPort _large;
    private readonly SwitchPort _receiver;
    private readonly byte[] _smallPacket;
    private readonly byte[] _largePacket;
    private readonly byte[] _received = new byte[VirtioNetHdr.Size + 1514];

    public SwitchInboundWorkload()
    {
        _small = _switch.AddPort("small", MacAddress.Read([0x02, 0, 0, 0, 0, 0x0a]), weight: 1);
        _large = _switch.AddPort("large", MacAddress.Read([0x02, 0, 0, 0, 0, 0x0b]), weight: 2);
        _receiver = _switch.AddPort("receiver", MacAddress.Read(ReceiverMac));
        _smallPacket = [.. new byte[VirtioNetHdr.Size], .. EthernetFrames.Frame(ReceiverMac, EthernetFrames.Bytes(_small.Mac), 64)];
        _largePacket = [.. new byte[VirtioNetHdr.Size], .. EthernetFrames.Frame(ReceiverMac, EthernetFrames.Bytes(_large.Mac), 1400)];
    }

    /// <summary>Runs <paramref name="rounds"/> send-send-take-take rounds; returns the bytes the receiver took.</summary>
    public long Run(int rounds)
    {
        long bytes = 0;
        for (var i = 0; i < rounds; i++)
        {
            _ = _small.Transmit(0, _smallPacket);
            _ = _large.Transmit(0, _largePacket);
            bytes += _receiver.Receive(0, _received);
            bytes += _receiver.Receive(0, _received);
        }

        return bytes;
    }

    public void Dispose() => _switch.Dispose();
}
