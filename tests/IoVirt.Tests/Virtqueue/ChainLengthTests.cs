using IoVirt.Abi.Virtio;
using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Virtqueue;

public class ChainLengthTests
{
    private const int Size = 8;

    [Fact]
    public void A_descriptor_whose_next_points_to_itself_stops_the_queue_after_the_table_size()
    {
        using var h = QueueHarness.Create(packed: false, Size);
        GuestRing.SplitDescriptor(h, 0, h.DataBase, 16, VirtqDescFlags.Next, next: 0);
        GuestRing.Offer(h, 0);
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.ChainTooLong, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Equal(Size, buffers.Count);
        GuestRing.AssertStopped(h, QueueError.ChainTooLong);
    }

    [Fact]
    public void Two_descriptors_pointing_at_each_other_stop_the_queue()
    {
        using var h = QueueHarness.Create(packed: false, Size);
        GuestRing.SplitDescriptor(h, 0, h.DataBase, 16, VirtqDescFlags.Next, next: 1);
        GuestRing.SplitDescriptor(h, 1, h.DataBase, 16, VirtqDescFlags.Next, next: 0);
        GuestRing.Offer(h, 0);
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.ChainTooLong, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Equal(Size, buffers.Count);
        GuestRing.AssertStopped(h, QueueError.ChainTooLong);
    }

    [Fact]
    public void A_loop_inside_an_indirect_table_stops_the_queue_after_the_table_length()
    {
        using var h = QueueHarness.Create(packed: false, Size);
        var table = h.DataBase + 0x8000;
        GuestRing.SplitDescriptor(h.Memory, table, 0, h.DataBase, 16, VirtqDescFlags.Next, next: 1);
        GuestRing.SplitDescriptor(h.Memory, table, 1, h.DataBase, 16, VirtqDescFlags.Next, next: 1);
        GuestRing.SplitDescriptor(h.Memory, table, 2, h.DataBase, 16, VirtqDescFlags.None);
        GuestRing.OfferChain(h, packed: false, new RawDesc(table, 3 * VirtqDesc.Size, VirtqDescFlags.Indirect));
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.ChainTooLong, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Equal(3, buffers.Count);
        GuestRing.AssertStopped(h, QueueError.ChainTooLong);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_chain_using_every_descriptor_of_the_table_is_accepted(bool packed)
    {
        using var h = QueueHarness.Create(packed, Size);
        var chain = Enumerable.Range(0, Size).Select(i => new RawDesc(h.DataBase + ((ulong)i * 16), 16)).ToArray();
        GuestRing.OfferChain(h, packed, chain);
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.None, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Equal(Size, buffers.Count);
        Assert.False(h.Device.IsBroken);
    }

    [Fact]
    public void A_packed_chain_whose_next_runs_over_every_slot_stops_the_queue()
    {
        using var h = QueueHarness.Create(packed: true, Size);
        for (var slot = 0; slot < Size; slot++)
        {
            GuestRing.PackedAvailable(h, slot, h.DataBase, 16, 0, PackedDescFlags.Next);
        }

        Assert.False(h.Device.TryPop(out _));

        GuestRing.AssertStopped(h, QueueError.ChainTooLong);
    }

    [Fact]
    public void A_packed_head_with_next_whose_following_slot_is_not_available_stops_the_queue()
    {
        using var h = QueueHarness.Create(packed: true, Size);
        GuestRing.PackedAvailable(h, 0, h.DataBase, 16, 0, PackedDescFlags.Next);

        Assert.False(h.Device.TryPop(out _));

        GuestRing.AssertStopped(h, QueueError.ChainIncomplete);
    }

    [Fact]
    public void A_packed_chain_continuing_into_a_slot_marked_for_the_other_lap_stops_the_queue()
    {
        using var h = QueueHarness.Create(packed: true, Size);
        GuestRing.PackedAvailable(h, 0, h.DataBase, 16, 0, PackedDescFlags.Next);
        // AVAIL and USED both set: a used descriptor of the first lap, not an available one.
        GuestRing.PackedDescriptor(h.Memory, h.Config.DescriptorTable, 1, h.DataBase, 16, 0, PackedDescFlags.Avail | PackedDescFlags.Used);

        Assert.False(h.Device.TryPop(out _));

        Assert.Equal(QueueError.ChainIncomplete, h.Device.Fault);
        Assert.False(h.Device.TryPop(out _));
    }
}
