using IoVirt.Backends.Rng;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using IoVirt.VhostUser;

namespace IoVirt.Tests.VhostUser;

public class RngOverVhostUserTests
{
    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public void Random_bytes_reach_the_front_end_through_a_real_socket(bool packed, bool eventIdx)
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed, packed, eventIdx);
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 16, packed, eventIdx, VhostUserTestBed.RingBase(0), VhostUserTestBed.RingBase(0) + 0x1_0000, indirectEntries: 4);
        frontend.SetVringEnable(0, true);

        var buffer = new byte[64];
        for (var i = 0; i < 300; i++)
        {
            var address = VhostUserTestBed.DataBase + ((ulong)(i % 16) * 4096);
            Assert.Equal(MemoryFault.None, bed.Memory.Write(address, new byte[64]));
            Assert.True(queue.Driver.TryAdd([new DriverBuffer(address, 64, IsWritable: true)], indirect: i % 3 == 0, out var id));
            queue.Submit();

            Assert.True(queue.TryWaitUsed(out var usedId, out var written, 5000), $"request {i} was not answered");
            Assert.Equal(id, usedId);
            Assert.Equal(64u, written);
            Assert.Equal(MemoryFault.None, bed.Memory.Read(address, buffer));
            Assert.Contains(buffer, b => b != 0);
        }

        Assert.Equal(300 * 64, ((RngDevice)bed.Device).BytesServed);
    }

    [Fact]
    public void A_stopped_ring_reports_its_position_and_resumes_from_it()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        frontend.SetVringEnable(0, true);
        RoundTrips(queue, 5);

        Assert.Equal(5u, frontend.GetVringBase(0));

        // Restart on the same rings from the reported position, as QEMU does after a stop.
        queue.Resume(frontend, 5);
        RoundTrips(queue, 5);

        Assert.Equal(10u, frontend.GetVringBase(0));
    }

    [Fact]
    public void A_guest_that_corrupts_its_ring_gets_needs_reset_and_the_error_eventfd()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        using var err = IoVirt.Interop.EventFd.Create();
        frontend.SetVringErr(0, err);
        frontend.SetVringEnable(0, true);

        // Publish one avail entry naming descriptor 200 in a ring of 8.
        var availRing = queue.Driver.Config.DriverArea + 4;
        Assert.Equal(MemoryFault.None, bed.Memory.Write<ushort>(availRing, 200));
        Assert.Equal(MemoryFault.None, bed.Memory.Write<ushort>(queue.Driver.Config.DriverArea + 2, 1));
        queue.Kick.Signal();

        Assert.True(err.Wait(5000), "the error eventfd was not signalled");
        Assert.Equal(64, frontend.GetStatus() & 64);
        Assert.True(bed.Log.Contains(Microsoft.Extensions.Logging.LogLevel.Warning, nameof(QueueError.DescriptorIndexOutOfRange)));
    }

    private static void RoundTrips(FrontendQueue queue, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(queue.Driver.TryAdd([new DriverBuffer(VhostUserTestBed.DataBase, 32, true)], false, out _));
            queue.Submit();
            Assert.True(queue.TryWaitUsed(out _, out _, 5000));
        }
    }
}
