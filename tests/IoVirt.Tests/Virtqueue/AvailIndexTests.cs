using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Tests.Virtqueue;

public class AvailIndexTests
{
    [Fact]
    public void An_avail_index_more_than_the_queue_size_ahead_stops_the_queue()
    {
        using var h = QueueHarness.Create(packed: false, 8);
        GuestRing.SetAvailIdx(h, 9);

        Assert.False(h.Device.TryPop(out _));

        GuestRing.AssertStopped(h, QueueError.AvailIndexJump);
    }

    [Fact]
    public void An_avail_index_exactly_the_queue_size_ahead_offers_a_full_ring()
    {
        using var h = QueueHarness.Create(packed: false, 8);
        GuestRing.SplitDescriptor(h, 0, h.DataBase, 16, default);
        GuestRing.SetAvailIdx(h, 8); // every ring entry names descriptor 0

        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(QueueError.None, GuestRing.PopAndWalk(h.Device));
        }

        Assert.False(h.Device.TryPop(out _));
        Assert.False(h.Device.IsBroken);
    }

    [Fact]
    public void The_jump_is_measured_from_the_device_position_not_from_zero()
    {
        using var h = QueueHarness.Create(packed: false, 8);
        GuestRing.SplitDescriptor(h, 0, h.DataBase, 16, default);
        GuestRing.SetAvailIdx(h, 5);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(QueueError.None, GuestRing.PopAndWalk(h.Device));
        }

        GuestRing.SetAvailIdx(h, 5 + 9);

        Assert.False(h.Device.TryPop(out _));
        GuestRing.AssertStopped(h, QueueError.AvailIndexJump);
    }

    [Theory]
    [InlineData(0x0003, true)]
    [InlineData(0x0004, true)]
    [InlineData(0x0005, false)]
    [InlineData(0xfff0, false)]
    public void The_avail_index_is_compared_modulo_2_to_the_16(int availIdx, bool accepted)
    {
        using var h = QueueHarness.Create(packed: false, 8);
        GuestRing.SplitDescriptor(h, 0, h.DataBase, 16, default);
        Assert.Equal(QueueError.None, SplitQueue.TryCreate(h.Memory, h.Config, new QueuePosition(0xfffc, false, 0xfffc, false), out var queue));
        GuestRing.SetAvailIdx(h, (ushort)availIdx);

        Assert.Equal(accepted, queue!.TryPop(out _));
        Assert.Equal(accepted ? QueueError.None : QueueError.AvailIndexJump, queue.Fault);
    }
}
