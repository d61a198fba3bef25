using IoVirt.Abi.Virtio;
using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Virtqueue;

public class IndirectTableTests
{
    private const int Size = 8;

    private static ulong Table(QueueHarness h) => h.DataBase + 0x8000;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_valid_indirect_table_written_by_hand_is_walked(bool packed)
    {
        using var h = QueueHarness.Create(packed, Size);
        GuestRing.IndirectTable(h, packed, Table(h), new RawDesc(h.DataBase, 16), new RawDesc(h.DataBase + 16, 32, VirtqDescFlags.Write));
        GuestRing.OfferChain(h, packed, new RawDesc(Table(h), 2 * VirtqDesc.Size, VirtqDescFlags.Indirect));
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.None, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Equal([(h.DataBase, 16u, false), (h.DataBase + 16, 32u, true)], buffers.Select(b => (b.GuestAddress, b.Length, b.IsWritable)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_indirect_descriptor_inside_an_indirect_table_stops_the_queue(bool packed)
    {
        using var h = QueueHarness.Create(packed, Size);
        var inner = Table(h) + 0x1000;
        GuestRing.IndirectTable(h, packed, inner, new RawDesc(h.DataBase, 16));
        GuestRing.IndirectTable(h, packed, Table(h), new RawDesc(inner, VirtqDesc.Size, VirtqDescFlags.Indirect));
        GuestRing.OfferChain(h, packed, new RawDesc(Table(h), VirtqDesc.Size, VirtqDescFlags.Indirect));

        Assert.Equal(QueueError.NestedIndirect, GuestRing.PopAndWalk(h.Device));

        GuestRing.AssertStopped(h, QueueError.NestedIndirect);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_indirect_descriptor_without_the_negotiated_feature_stops_the_queue(bool packed)
    {
        using var h = QueueHarness.Create(packed, Size, indirect: false);
        GuestRing.IndirectTable(h, packed, Table(h), new RawDesc(h.DataBase, 16));
        GuestRing.OfferChain(h, packed, new RawDesc(Table(h), VirtqDesc.Size, VirtqDescFlags.Indirect));

        Assert.Equal(QueueError.IndirectNotNegotiated, GuestRing.PopAndWalk(h.Device));

        GuestRing.AssertStopped(h, QueueError.IndirectNotNegotiated);
    }

    [Fact]
    public void A_split_indirect_descriptor_with_next_stops_the_queue()
    {
        using var h = QueueHarness.Create(packed: false, Size);
        GuestRing.IndirectTable(h, packed: false, Table(h), new RawDesc(h.DataBase, 16));
        GuestRing.SplitDescriptor(h, 0, Table(h), VirtqDesc.Size, VirtqDescFlags.Indirect | VirtqDescFlags.Next, next: 1);
        GuestRing.SplitDescriptor(h, 1, h.DataBase, 16, VirtqDescFlags.None);
        GuestRing.Offer(h, 0);

        Assert.Equal(QueueError.IndirectWithNext, GuestRing.PopAndWalk(h.Device));

        GuestRing.AssertStopped(h, QueueError.IndirectWithNext);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_packed_indirect_descriptor_in_a_chain_of_several_slots_is_refused_at_pop(int indirectSlot)
    {
        using var h = QueueHarness.Create(packed: true, Size);
        GuestRing.IndirectTable(h, packed: true, Table(h), new RawDesc(h.DataBase, 16));
        GuestRing.PackedAvailable(h, 0, indirectSlot == 0 ? Table(h) : h.DataBase, 16, 0, PackedDescFlags.Next | (indirectSlot == 0 ? PackedDescFlags.Indirect : 0));
        GuestRing.PackedAvailable(h, 1, indirectSlot == 1 ? Table(h) : h.DataBase, 16, 0, indirectSlot == 1 ? PackedDescFlags.Indirect : 0);

        Assert.False(h.Device.TryPop(out _));

        GuestRing.AssertStopped(h, QueueError.IndirectWithNext);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_packed_indirect_flag_set_in_a_chain_of_several_slots_after_the_pop_stops_the_queue(int indirectSlot)
    {
        // The driver rewrites a slot between the pop and the walk; the walk must not trust the pop.
        using var h = QueueHarness.Create(packed: true, Size);
        GuestRing.IndirectTable(h, packed: true, Table(h), new RawDesc(h.DataBase, 16));
        GuestRing.PackedAvailable(h, 0, Table(h), 16, 0, PackedDescFlags.Next);
        GuestRing.PackedAvailable(h, 1, Table(h), 16, 0, PackedDescFlags.None);
        Assert.True(h.Device.TryPop(out var chain));

        GuestRing.SetPackedFlags(h, indirectSlot, GuestRing.PackedFlags(h, indirectSlot) | PackedDescFlags.Indirect);

        Assert.Equal(QueueError.IndirectWithNext, GuestRing.Walk(ref chain));
        GuestRing.AssertStopped(h, QueueError.IndirectWithNext);
    }

    [Theory]
    [InlineData(false, 24u)]
    [InlineData(true, 24u)]
    [InlineData(false, 8u)]
    [InlineData(true, 17u)]
    public void An_indirect_table_whose_length_is_not_a_multiple_of_16_stops_the_queue(bool packed, uint length)
    {
        using var h = QueueHarness.Create(packed, Size);
        GuestRing.IndirectTable(h, packed, Table(h), new RawDesc(h.DataBase, 16), new RawDesc(h.DataBase, 16));
        GuestRing.OfferChain(h, packed, new RawDesc(Table(h), length, VirtqDescFlags.Indirect));

        Assert.Equal(QueueError.IndirectTableMisSized, GuestRing.PopAndWalk(h.Device));

        GuestRing.AssertStopped(h, QueueError.IndirectTableMisSized);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_empty_indirect_table_stops_the_queue(bool packed)
    {
        using var h = QueueHarness.Create(packed, Size);
        GuestRing.OfferChain(h, packed, new RawDesc(Table(h), 0, VirtqDescFlags.Indirect));

        Assert.Equal(QueueError.IndirectTableEmpty, GuestRing.PopAndWalk(h.Device));

        GuestRing.AssertStopped(h, QueueError.IndirectTableEmpty);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void An_indirect_table_of_more_than_65536_entries_stops_the_queue_before_its_address_is_translated(bool packed, bool inMemory)
    {
        // 2 MiB of data: a table of 65537 zeroed entries fits, so only the size rule refuses it.
        using var h = QueueHarness.Create(packed, Size, dataBytes: 2 << 20);
        var address = inMemory ? h.DataBase : 0;
        GuestRing.OfferChain(h, packed, new RawDesc(address, 65537 * VirtqDesc.Size, VirtqDescFlags.Indirect));

        Assert.Equal(QueueError.IndirectTableTooLarge, GuestRing.PopAndWalk(h.Device));

        GuestRing.AssertStopped(h, QueueError.IndirectTableTooLarge);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_indirect_table_of_exactly_65536_entries_is_accepted(bool packed)
    {
        // Zeroed entries: zero-length readable buffers at address 0, one (split: no NEXT) or all 65536 (packed).
        using var h = QueueHarness.Create(packed, Size, dataBytes: 2 << 20);
        GuestRing.OfferChain(h, packed, new RawDesc(h.DataBase, 65536 * VirtqDesc.Size, VirtqDescFlags.Indirect));
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.None, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Equal(packed ? 65536 : 1, buffers.Count);
    }

    public enum Where
    {
        AtAddressZero,
        PastTheRegionEnd,
        StraddlingTheRegionEnd,
    }

    [Theory]
    [InlineData(false, Where.AtAddressZero)]
    [InlineData(false, Where.PastTheRegionEnd)]
    [InlineData(false, Where.StraddlingTheRegionEnd)]
    [InlineData(true, Where.AtAddressZero)]
    [InlineData(true, Where.PastTheRegionEnd)]
    [InlineData(true, Where.StraddlingTheRegionEnd)]
    public void An_indirect_table_outside_guest_memory_stops_the_queue(bool packed, Where where)
    {
        using var h = QueueHarness.Create(packed, Size);
        var address = where switch
        {
            Where.AtAddressZero => 0UL,
            Where.PastTheRegionEnd => h.RegionEnd,
            _ => h.RegionEnd - VirtqDesc.Size,
        };
        GuestRing.OfferChain(h, packed, new RawDesc(address, 2 * VirtqDesc.Size, VirtqDescFlags.Indirect));

        Assert.Equal(QueueError.IndirectTableOutsideMemory, GuestRing.PopAndWalk(h.Device));

        GuestRing.AssertStopped(h, QueueError.IndirectTableOutsideMemory);
    }
}
