using IoVirt.Abi.Net;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;
using IoVirt.Memory;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Testing;

/// <summary>What a <see cref="NetPacketWorkload"/> moves.</summary>
public enum NetPath
{
    /// <summary>Guest transmit into a sink.</summary>
    Transmit,

    /// <summary>Source into guest receive buffers.</summary>
    Receive,

    /// <summary>Guest transmit, echoed back into guest receive buffers.</summary>
    Echo,
}

/// <summary>
/// The network device's packet path in one thread, without sockets: the driver posts a batch of
/// 64-byte frames on the transmit ring and/or receive buffers, the device processes its queues,
/// and the driver takes the used chains back. What the benchmark measures and the allocation
/// test checks.
/// </summary>
public sealed class NetPacketWorkload : IDisposable
{
    public const int Batch = 32;
    private const int FrameBytes = 64;
    private const int RxBufferBytes = 2048;

    private readonly QueueHarness _rx;
    private readonly QueueHarness _tx;
    private readonly INetPort _port;
    private readonly NetDevice _device;
    private readonly NetPath _path;
    private readonly DriverBuffer[][] _txChains = new DriverBuffer[Batch][];
    private readonly DriverBuffer[][] _rxChains = new DriverBuffer[Batch][];

    public NetPacketWorkload(bool packed, NetPath path)
    {
        _path = path;
        _rx = QueueHarness.Create(packed, 256, eventIdx: true, indirect: false, dataBytes: Batch * RxBufferBytes);
        _tx = QueueHarness.Create(packed, 256, eventIdx: true, indirect: false, dataBytes: Batch * 128);
        _port = path switch
        {
            NetPath.Transmit => new SinkPort(),
            NetPath.Receive => new SourcePort(1, FrameBytes, MacAddress.Read(EthernetFrames.DeviceMac)),
            _ => new EchoPort(1, NetTransmitCheck.FrameFor(1500)),
        };
        _device = new NetDevice(_port, new NetDeviceOptions());
        _device.FeaturesNegotiated(_device.Features & ~VirtioFeature.Bit(VirtioFeature.RingPacked));
        var packet = new byte[VirtioNetHdr.Size + FrameBytes];
        EthernetFrames.Frame(EthernetFrames.DeviceMac, EthernetFrames.DeviceMac, FrameBytes).CopyTo(packet, VirtioNetHdr.Size);
        for (var i = 0; i < Batch; i++)
        {
            var tx = _tx.DataBase + ((ulong)i * 128);
            if (_tx.Memory.Write(tx, packet) != MemoryFault.None)
            {
                throw new InvalidOperationException("the frame is outside the harness memory");
            }

            _txChains[i] = [new(tx, (uint)packet.Length, false)];
            _rxChains[i] = [new(_rx.DataBase + ((ulong)i * RxBufferBytes), RxBufferBytes, true)];
        }
    }

    /// <summary>Runs <paramref name="batches"/> batches; returns the packets that arrived where they were going.</summary>
    public long Run(int batches)
    {
        long packets = 0;
        for (var b = 0; b < batches; b++)
        {
            if (_path != NetPath.Receive)
            {
                Post(_tx, _txChains);
                _device.ProcessQueue(1, _tx.Device);
                packets += Reap(_tx);
            }

            if (_path != NetPath.Transmit)
            {
                Post(_rx, _rxChains);
                _device.ProcessQueue(0, _rx.Device);
                packets += Reap(_rx);
            }
        }

        return _path == NetPath.Echo ? packets / 2 : packets;
    }

    private static void Post(QueueHarness harness, DriverBuffer[][] chains)
    {
        foreach (var chain in chains)
        {
            _ = harness.Driver.TryAdd(chain, indirect: false, out _);
        }

        harness.Driver.PublishAvail();
    }

    private static int Reap(QueueHarness harness)
    {
        harness.Device.PublishUsed();
        var taken = 0;
        while (harness.Driver.TryTakeUsed(out _, out _))
        {
            taken++;
        }

        return taken;
    }

    public void Dispose()
    {
        _port.Dispose();
        _rx.Dispose();
        _tx.Dispose();
    }
}
