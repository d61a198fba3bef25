using IoVirt.Abi.Net;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Net;
using IoVirt.Testing;

namespace IoVirt.Tests.Net;

/// <summary>A <see cref="NetDevice"/> in front of a port, served on a real socket, and a <see cref="NetDriver"/> driving it.</summary>
internal sealed class NetBed : IDisposable
{
    /// <summary>What a Linux driver accepts, without the ring format bits.</summary>
    public static readonly ulong DriverFeatures =
        VirtioFeature.Bit(VirtioFeature.Version1) | VirtioFeature.Bit(VirtioFeature.RingEventIdx) | VirtioFeature.Bit(VirtioFeature.RingIndirectDesc)
        | VirtioFeature.Bit(VirtioNetFeature.Mac) | VirtioFeature.Bit(VirtioNetFeature.Status) | VirtioFeature.Bit(VirtioNetFeature.Mtu)
        | VirtioFeature.Bit(VirtioNetFeature.CtrlVq) | VirtioFeature.Bit(VirtioNetFeature.CtrlRx) | VirtioFeature.Bit(VirtioNetFeature.CtrlVlan)
        | VirtioFeature.Bit(VirtioNetFeature.CtrlMacAddr) | VirtioFeature.Bit(VirtioNetFeature.Mq) | VirtioFeature.Bit(VirtioNetFeature.Csum);

    public NetBed(INetPort port, bool packed = false, bool mergeable = true, int rxBufferSize = 2048, int mtu = 1500, ulong extra = 0, int pairs = 1)
    {
        Port = port;
        Device = new NetDevice(port, new NetDeviceOptions { Mtu = mtu, QueuePairs = pairs });
        TestBed = new VhostUserTestBed(Device);
        var features = DriverFeatures | extra
            | (packed ? VirtioFeature.Bit(VirtioFeature.RingPacked) : 0)
            | (mergeable ? VirtioFeature.Bit(VirtioNetFeature.MrgRxbuf) : 0);
        Driver = new NetDriver(TestBed.SocketPath, TestBed.Memory, features, rxBufferSize: rxBufferSize, pairs: pairs);
    }

    public INetPort Port { get; }

    public NetDevice Device { get; }

    public VhostUserTestBed TestBed { get; }

    public NetDriver Driver { get; }

    /// <summary>Waits until the device's counters satisfy <paramref name="condition"/> (workers update them after completing chains).</summary>
    public NetTotals WaitTotals(Func<NetTotals, bool> condition, int timeoutMs = 5000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        var totals = Device.Totals;
        while (!condition(totals) && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(1);
            totals = Device.Totals;
        }

        return totals;
    }

    public void Dispose()
    {
        Driver.Dispose();
        TestBed.Dispose();
        Port.Dispose();
    }
}
