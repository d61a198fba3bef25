using IoVirt.Abi.Virtio;
using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Virtqueue;

public class BufferBoundsTests
{
    private const int Size = 8;

    public enum Where
    {
        AtAddressZero,
        PastTheRegionEnd,
        StraddlingTheRegionEnd,
        WrappingPast2To64,
    }

    private static RawDesc[] InTableIf(QueueHarness h, bool packed, bool indirect, RawDesc[] chain)
    {
        if (!indirect)
        {
            return chain;
        }

        var table = h.DataBase + 0x8000;
        GuestRing.IndirectTable(h, packed, table, chain);
        return [new(table, (uint)(chain.Length * VirtqDesc.Size), VirtqDescFlags.Indirect)];
    }

    [Theory]
    [InlineData(false, false, Where.AtAddressZero)]
    [InlineData(false, false, Where.PastTheRegionEnd)]
    [InlineData(false, false, Where.StraddlingTheRegionEnd)]
    [InlineData(false, false, Where.WrappingPast2To64)]
    [InlineData(false, true, Where.AtAddressZero)]
    [InlineData(false, true, Where.PastTheRegionEnd)]
    [InlineData(false, true, Where.StraddlingTheRegionEnd)]
    [InlineData(false, true, Where.WrappingPast2To64)]
    [InlineData(true, false, Where.AtAddressZero)]
    [InlineData(true, false, Where.PastTheRegionEnd)]
    [InlineData(true, false, Where.StraddlingTheRegionEnd)]
    [InlineData(true, false, Where.WrappingPast2To64)]
    [InlineData(true, true, Where.AtAddressZero)]
    [InlineData(true, true, Where.PastTheRegionEnd)]
    [InlineData(true, true, Where.StraddlingTheRegionEnd)]
    [InlineData(true, true, Where.WrappingPast2To64)]
    public void A_buffer_outside_guest_memory_stops_the_queue(bool packed, bool indirect, Where where)
    {
        using var h = QueueHarness.Create(packed, Size);
        RawDesc bad = where switch
        {
            Where.AtAddressZero => new(0, 16),
            Where.PastTheRegionEnd => new(h.RegionEnd, 1),
            Where.StraddlingTheRegionEnd => new(h.RegionEnd - 8, 16, VirtqDescFlags.Write),
            _ => new(ulong.MaxValue - 15, 32, VirtqDescFlags.Write),
        };
        GuestRing.OfferChain(h, packed, InTableIf(h, packed, indirect, [new(h.DataBase, 16), bad]));
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.BufferOutsideMemory, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Single(buffers);
        GuestRing.AssertStopped(h, QueueError.BufferOutsideMemory);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public unsafe void A_buffer_ending_at_the_last_byte_of_guest_memory_is_accepted(bool packed)
    {
        using var h = QueueHarness.Create(packed, Size);
        GuestRing.OfferChain(h, packed, new RawDesc(h.RegionEnd - 16, 16, VirtqDescFlags.Write));
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.None, GuestRing.PopAndWalk(h.Device, buffers));

        var buffer = Assert.Single(buffers);
        Assert.True(buffer.IsContiguous);
        Assert.True(buffer.Host == h.Memory.Regions[0].Host + (h.RegionEnd - 16 - h.Memory.Regions[0].GuestAddress));
        Assert.Equal(16, buffer.Span.Length);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void A_zero_length_buffer_is_accepted_anywhere_in_a_chain_and_at_any_address(bool packed, bool indirect)
    {
        using var h = QueueHarness.Create(packed, Size);
        RawDesc[] chain =
        [
            new(0, 0),
            new(h.DataBase, 16),
            new(ulong.MaxValue, 0),
            new(h.RegionEnd, 0, VirtqDescFlags.Write),
            new(h.DataBase + 16, 16, VirtqDescFlags.Write),
            new(0, 0, VirtqDescFlags.Write),
        ];
        GuestRing.OfferChain(h, packed, InTableIf(h, packed, indirect, chain));
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.None, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Equal(chain.Select(d => (d.Address, d.Length)), buffers.Select(b => (b.GuestAddress, b.Length)));
        Assert.All(buffers, b => Assert.True(b.IsContiguous));
        Assert.All(buffers.Where(b => b.Length == 0), b => Assert.True(b.Span.IsEmpty));
        Assert.False(h.Device.IsBroken);
    }
}
