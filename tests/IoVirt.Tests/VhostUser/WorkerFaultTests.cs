using IoVirt.Devices;
using IoVirt.Testing;
using IoVirt.VhostUser;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using Microsoft.Extensions.Logging;

namespace IoVirt.Tests.VhostUser;

/// <summary>
/// Faults on a queue worker's thread: a device that throws while processing costs only its
/// device (NEEDS_RESET), and one that throws from another hook outside that processing ends
/// only its session; in both cases the server serves the next front end and the process lives.
/// </summary>
public sealed class WorkerFaultTests
{
    [Theory]
    [InlineData(Fault.InProcessQueue, "failed on ring 0; the device needs a reset")]
    [InlineData(Fault.InWaitsForEventSource, "a queue worker of faulty failed; closing the connection")]
    public void A_throwing_device_costs_only_its_device_and_the_next_front_end_is_served(Fault fault, string logged)
    {
        var device = new FaultyDevice();
        using var bed = new VhostUserTestBed(device);
        using (var frontend = Handshake.Connect(bed))
        {
            using var queue = StartQueue(frontend, bed);

            // Armed only once the ring runs: the worker may look at an enabled ring before the
            // enable's reply is sent, and a fault then would close the session under the reply.
            device.Fault = fault;
            Submit(queue);
            SpinWait.SpinUntil(() => bed.Log.Contains(fault == Fault.InProcessQueue ? LogLevel.Error : LogLevel.Critical, logged), TimeSpan.FromSeconds(10));
            Assert.True(bed.Log.Contains(fault == Fault.InProcessQueue ? LogLevel.Error : LogLevel.Critical, logged), string.Join('\n', bed.Log.Lines));
        }

        // The same server, a new front end, a device that behaves: served.
        device.Fault = Fault.None;
        using var next = Handshake.Connect(bed);
        using var healthy = StartQueue(next, bed);
        Submit(healthy);
        Assert.True(healthy.TryWaitUsed(out _, out var written, 5000), "the next front end was not served");
        Assert.Equal(8u, written);
    }

    [Fact]
    public void A_device_that_throws_while_a_ring_stops_gets_needs_reset_and_the_front_end_its_position()
    {
        var device = new FaultyDevice();
        using var bed = new VhostUserTestBed(device);
        using var frontend = Handshake.Connect(bed);
        using var queue = StartQueue(frontend, bed);
        Submit(queue);
        Assert.True(queue.TryWaitUsed(out _, out _, 5000), "the request was not served");

        device.Fault = Fault.InQuiesceQueue;
        Assert.Equal(1u, frontend.GetVringBase(0));

        Assert.True(bed.Log.Contains(LogLevel.Error, "faulty failed to finish ring 0's requests in flight"), string.Join('\n', bed.Log.Lines));
        Assert.NotEqual(0, frontend.GetStatus() & (byte)IoVirt.Abi.Virtio.DeviceStatus.DeviceNeedsReset);
    }

    public enum Fault
    {
        None,
        InProcessQueue,
        InWaitsForEventSource,
        InQuiesceQueue,
    }

    private static FrontendQueue StartQueue(VhostUserFrontend frontend, VhostUserTestBed bed)
    {
        var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        frontend.SetVringEnable(0, true);
        return queue;
    }

    private static void Submit(FrontendQueue queue)
    {
        var data = VhostUserTestBed.DataBase;
        Assert.True(queue.Driver.TryAdd([new DriverBuffer(data, 8, false), new DriverBuffer(data + 64, 8, true)], false, out _));
        queue.Submit();
    }

    /// <summary>Writes 8 bytes per chain, or throws where told.</summary>
    private sealed class FaultyDevice : VirtioDeviceModel
    {
        public volatile Fault Fault;

        public override string Name => "faulty";

        public override ulong Features => RingFeatures;

        public override void ProcessQueue(int queueIndex, DeviceQueue queue)
        {
            switch (Fault)
            {
                case Fault.InProcessQueue:
                    throw new InvalidOperationException("injected device fault");
                case Fault.InWaitsForEventSource:
                    return; // takes nothing, so the worker asks whether it waits for an event source
            }

            while (queue.TryPop(out var chain))
            {
                while (chain.TryGetNext(out _))
                {
                }

                queue.AddUsed(chain.Head, 8);
            }
        }

        public override void QuiesceQueue(int queueIndex, DeviceQueue queue)
        {
            if (Fault == Fault.InQuiesceQueue)
            {
                throw new InvalidOperationException("injected drain fault");
            }
        }

        public override bool WaitsForEventSource(int queueIndex) =>
            Fault == Fault.InWaitsForEventSource ? throw new InvalidOperationException("injected hook fault") : base.WaitsForEventSource(queueIndex);
    }
}
