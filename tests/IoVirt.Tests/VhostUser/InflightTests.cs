using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.VhostUser;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.VhostUser;

/// <summary>
/// INFLIGHT_SHMFD: requests a back end popped and never completed before it died are resubmitted
/// by the next back end, in their original order, none lost and none completed twice.
/// </summary>
public class InflightTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Requests_in_flight_when_the_back_end_dies_are_resubmitted_once_after_reconnect(bool packed)
    {
        var holding = new NumberedRequestDevice(holdEven: true);
        using var bed = new VhostUserTestBed(holding);
        var frontend = Handshake.Connect(bed, packed);
        var inflight = frontend.GetInflightFd(1, 16, out var inflightFile);
        using var file = inflightFile;
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 16, packed, eventIdx: true, VhostUserTestBed.RingBase(0));
        frontend.SetVringEnable(0, true);

        // Requests 1..6; the first back end holds the even ones (they stay in flight) and
        // completes the odd ones, out of order with respect to the ring.
        var ids = new Dictionary<ushort, int>();
        for (var request = 1; request <= 6; request++)
        {
            ids[NumberedRequestDevice.Add(queue.Driver, request)] = request;
        }

        queue.Submit();
        var completedFirst = Collect(queue, ids, 3);
        Assert.Equal([1, 3, 5], completedFirst.Order());
        Assert.True(SpinUntil(() => holding.Seen.Length == 6));

        // The back end dies: its session ends without completing anything more.
        bed.RestartServer(new NumberedRequestDevice(holdEven: false));
        frontend.Dispose();

        using var again = Handshake.Connect(bed, packed);
        again.SetInflightFd(inflight, file);
        queue.Reconnect(again, ResumePosition(bed, queue, packed));
        again.SetVringEnable(0, true);

        // Nothing new was submitted: the held requests come back by themselves, in pop order.
        var completedAfter = Collect(queue, ids, 3);
        Assert.Equal([2, 4, 6], completedAfter);
        var resubmitted = ((NumberedRequestDevice)bed.Device).Seen;
        Assert.Equal([2, 4, 6], resubmitted);

        // And the ring goes on normally afterwards, with nothing completed twice.
        ids[NumberedRequestDevice.Add(queue.Driver, 7)] = 7;
        queue.Submit();
        Assert.Equal([7], Collect(queue, ids, 1));
        Assert.False(queue.Driver.TryTakeUsed(out _, out _));
        Assert.Equal(0, queue.Driver.Outstanding);
        Assert.True(bed.Log.Contains(Microsoft.Extensions.Logging.LogLevel.Information, "resubmitting 3"));
    }

    [Fact]
    public void Requests_in_flight_before_a_device_reset_are_not_resubmitted_after_it()
    {
        var holding = new NumberedRequestDevice(holdEven: true);
        using var bed = new VhostUserTestBed(holding);
        using var frontend = Handshake.Connect(bed);
        _ = frontend.GetInflightFd(1, 16, out var inflightFile);
        using var file = inflightFile;
        using (var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 16, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0)))
        {
            frontend.SetVringEnable(0, true);
            _ = NumberedRequestDevice.Add(queue.Driver, 2);
            queue.Submit();
            Assert.True(SpinUntil(() => holding.Seen.Length == 1));
        }

        // The driver resets the device and starts over on a fresh ring: request 2 is abandoned.
        // (Found by the vhost-user-sequences fuzz target: the inflight record of it came back and
        // was completed on the new ring, under a descriptor id the driver had given to another.)
        frontend.ResetDevice();
        frontend.SetFeatures(VirtioFeature.Bit(VirtioFeature.Version1) | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures) | VirtioFeature.Bit(VirtioFeature.RingEventIdx));
        frontend.SetMemTable(bed.Memory);
        Assert.Equal(MemoryFault.None, bed.Memory.Write(VhostUserTestBed.RingBase(0), new byte[0x2000]));
        using var again = FrontendQueue.Start(frontend, bed.Memory, 0, 16, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        frontend.SetVringEnable(0, true);
        var id = NumberedRequestDevice.Add(again.Driver, 3);
        again.Submit();

        Assert.True(again.TryWaitUsed(out var used, out _, 5000));
        Assert.Equal(id, used);
        Assert.False(again.TryWaitUsed(out _, out _, 200), "a request completed that the driver did not hand out after the reset");
        Assert.Equal([2, 3], holding.Seen);
    }

    /// <summary>
    /// A back end killed between publishing a completion and signalling it leaves the driver
    /// waiting for an interrupt; with nothing left in flight, the next back end has no completion
    /// of its own to signal, so a ring's start signals once. Found in the nested VMM's kill -9
    /// test: the guest's I/O hung after the reconnect ("blocked for more than 120 seconds").
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_completion_the_dead_back_end_never_signalled_is_signalled_by_the_next(bool packed)
    {
        using var bed = new VhostUserTestBed(new NumberedRequestDevice(holdEven: false));
        var frontend = Handshake.Connect(bed, packed);
        var inflight = frontend.GetInflightFd(1, 16, out var inflightFile);
        using var file = inflightFile;
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 16, packed, eventIdx: true, VhostUserTestBed.RingBase(0));
        frontend.SetVringEnable(0, true);
        var id = NumberedRequestDevice.Add(queue.Driver, 1);
        queue.Submit();
        Assert.True(queue.TryWaitUsed(out var used, out _, 5000), "the first back end did not complete the request");
        Assert.Equal(id, used);

        // The next interrupt is lost with the back end that would have raised it.
        _ = queue.Call.TryConsume();
        bed.RestartServer(new NumberedRequestDevice(holdEven: false));
        frontend.Dispose();
        using var again = Handshake.Connect(bed, packed);
        again.SetInflightFd(inflight, file);
        queue.Reconnect(again, ResumePosition(bed, queue, packed));
        again.SetVringEnable(0, true);

        Assert.True(queue.Call.Wait(5000), "the ring started without an interrupt; a driver waiting for one waits for ever");
        Assert.False(queue.Call.Wait(200), "signalled more than once");
        Assert.Equal([], ((NumberedRequestDevice)bed.Device).Seen);
    }

    [Fact]
    public void A_mismatched_inflight_buffer_is_refused()
    {
        using var bed = new VhostUserTestBed(new NumberedRequestDevice(holdEven: false));
        using (var refused = Handshake.Connect(bed))
        {
            // GET_INFLIGHT_FD has a reply of its own and no error form: a bad request closes the connection.
            Assert.Throws<IOException>(() => refused.GetInflightFd(3, 16, out _));
        }

        using var frontend = Handshake.Connect(bed);
        var inflight = frontend.GetInflightFd(1, 16, out var inflightFile);
        using var file = inflightFile;
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetInflightFd(inflight with { MmapSize = inflight.MmapSize * 2 }, file));
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetInflightFd(inflight with { QueueSize = 6 }, file));
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetInflightFd(inflight with { NumQueues = 2 }, file));

        // A ring whose size differs from the buffer's cannot start on it.
        frontend.SetInflightFd(inflight, file);
        Assert.Throws<VhostUserProtocolException>(() => FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0)));
    }

    private static List<int> Collect(FrontendQueue queue, Dictionary<ushort, int> ids, int count)
    {
        var done = new List<int>();
        while (done.Count < count)
        {
            Assert.True(queue.TryWaitUsed(out var id, out _, 5000), $"only {done.Count} of {count} completions arrived");
            done.Add(ids[id]);
        }

        return done;
    }

    /// <summary>
    /// What a front end that could not ask the dead back end sends: for a split ring the used
    /// index in the ring; for a packed ring it has nothing better than the start. Either way the
    /// back end takes its real positions from the inflight buffer.
    /// </summary>
    private static uint ResumePosition(VhostUserTestBed bed, FrontendQueue queue, bool packed)
    {
        if (packed)
        {
            return QueuePosition.Initial.ToPackedWord();
        }

        Assert.Equal(MemoryFault.None, bed.Memory.Read(queue.Driver.Config.DeviceArea + 2, out ushort used));
        return used;
    }

    private static bool SpinUntil(Func<bool> condition) => SpinWait.SpinUntil(condition, 5000);
}
