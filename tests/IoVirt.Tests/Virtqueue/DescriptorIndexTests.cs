using IoVirt.Abi.Virtio;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;

namespace IoVirt.Tests.Virtqueue;

public class DescriptorIndexTests
{
    [Theory]
    [InlineData(8)]
    [InlineData(0xffff)]
    public void A_descriptor_index_beyond_the_queue_size_in_the_avail_ring_stops_the_queue(int head)
    {
        using var h = QueueHarness.Create(packed: false, 8);
        GuestRing.Offer(h, (ushort)head);

        Assert.False(h.Device.TryPop(out _));

        GuestRing.AssertStopped(h, QueueError.DescriptorIndexOutOfRange);
    }

    [Fact]
    public void A_next_index_beyond_the_descriptor_table_stops_the_queue()
    {
        using var h = QueueHarness.Create(packed: false, 8);
        GuestRing.SplitDescriptor(h, 0, h.DataBase, 16, VirtqDescFlags.Next, next: 8);
        GuestRing.Offer(h, 0);
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.DescriptorIndexOutOfRange, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Single(buffers); // the first descriptor was valid
        GuestRing.AssertStopped(h, QueueError.DescriptorIndexOutOfRange);
    }

    [Fact]
    public void A_next_index_beyond_the_end_of_an_indirect_table_stops_the_queue()
    {
        using var h = QueueHarness.Create(packed: false, 8);
        var table = h.DataBase + 0x8000;
        GuestRing.SplitDescriptor(h.Memory, table, 0, h.DataBase, 16, VirtqDescFlags.Next, next: 2);
        GuestRing.SplitDescriptor(h.Memory, table, 1, h.DataBase, 16, VirtqDescFlags.None);
        GuestRing.OfferChain(h, packed: false, new RawDesc(table, 2 * VirtqDesc.Size, VirtqDescFlags.Indirect));
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.DescriptorIndexOutOfRange, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Single(buffers);
        GuestRing.AssertStopped(h, QueueError.DescriptorIndexOutOfRange);
    }

    [Theory]
    [InlineData(8, 0)]
    [InlineData(0, 8)]
    [InlineData(0x7fff, 0)]
    [InlineData(0, 0xffff)]
    public void A_packed_queue_restored_at_a_position_beyond_its_size_is_refused(int nextAvail, int nextUsed)
    {
        using var h = QueueHarness.Create(packed: true, 8);

        var error = PackedQueue.TryCreate(h.Memory, h.Config, new QueuePosition((ushort)nextAvail, true, (ushort)nextUsed, true), out var queue);

        Assert.Equal(QueueError.DescriptorIndexOutOfRange, error);
        Assert.Null(queue);
    }

    [Fact]
    public void A_packed_queue_restored_at_its_last_slot_is_accepted()
    {
        using var h = QueueHarness.Create(packed: true, 8);

        var error = PackedQueue.TryCreate(h.Memory, h.Config, new QueuePosition(7, false, 7, false), out var queue);

        Assert.Equal(QueueError.None, error);
        Assert.Equal(new QueuePosition(7, false, 7, false), queue!.Position);
    }
}
