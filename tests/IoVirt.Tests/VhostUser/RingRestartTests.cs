using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;
using IoVirt.Testing;
using IoVirt.Virtqueue.Driver;
using IoVirt.VhostUser;
using Microsoft.Extensions.Logging;

namespace IoVirt.Tests.VhostUser;

/// <summary>
/// A ring a guest fault stopped can be started again on the same session, directly or after
/// GET_VRING_BASE, even on a device whose queue has an event source of its own (the block
/// network device's receive queue, woken by its port): found by the message-sequence fuzz target, where the restart
/// added that descriptor to the worker's epoll set a second time and the session failed.
/// </summary>
public class RingRestartTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_ring_stopped_by_a_guest_fault_starts_again_on_the_same_session(bool stopFirst)
    {
        using var port = new EchoPort(1, NetTransmitCheck.FrameFor(1500));
        var device = new NetDevice(port, new NetDeviceOptions());
        using var bed = new VhostUserTestBed(device);
        using var frontend = Handshake.Connect(bed);
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        using var transmit = FrontendQueue.Start(frontend, bed.Memory, 1, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(1));
        frontend.SetVringEnable(0, true);
        frontend.SetVringEnable(1, true);

        // A receive buffer outside guest memory, and a frame to echo into it: the device stops the ring and asks for a reset.
        Assert.True(queue.Driver.TryAdd([new DriverBuffer(0x10, 2048, true)], false, out _));
        queue.Submit();
        var frame = VhostUserTestBed.DataBase;
        byte[] packet = [.. EthernetFrames.Header(), .. EthernetFrames.Frame(EthernetFrames.PeerMac, EthernetFrames.DeviceMac, 64)];
        Assert.Equal(IoVirt.Memory.MemoryFault.None, bed.Memory.Write(frame, packet));
        Assert.True(transmit.Driver.TryAdd([new DriverBuffer(frame, (uint)packet.Length, false)], false, out _));
        transmit.Submit();
        Assert.True(SpinWait.SpinUntil(() => bed.Log.Contains(LogLevel.Warning, "needs a reset"), 5000), string.Join('\n', bed.Log.Lines));

        if (stopFirst)
        {
            _ = frontend.GetVringBase(0);
        }

        queue.Resume(frontend, 0);
        frontend.SetVringEnable(0, true);
        Assert.DoesNotContain(bed.Log.Lines, line => line.Level == LogLevel.Critical);
        Assert.NotEqual(0ul, frontend.GetFeatures());
    }
}
