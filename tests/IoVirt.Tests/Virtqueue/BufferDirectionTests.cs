using IoVirt.Abi.Virtio;
using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Virtqueue;

public class BufferDirectionTests
{
    private const int Size = 8;

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void A_readable_buffer_after_a_writable_one_stops_the_queue(bool packed, bool indirect)
    {
        using var h = QueueHarness.Create(packed, Size);
        RawDesc[] chain = [new(h.DataBase, 16), new(h.DataBase + 16, 16, VirtqDescFlags.Write), new(h.DataBase + 32, 16)];
        if (indirect)
        {
            var table = h.DataBase + 0x8000;
            GuestRing.IndirectTable(h, packed, table, chain);
            chain = [new(table, 3 * VirtqDesc.Size, VirtqDescFlags.Indirect)];
        }

        GuestRing.OfferChain(h, packed, chain);
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.ReadableAfterWritable, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Equal(2, buffers.Count);
        GuestRing.AssertStopped(h, QueueError.ReadableAfterWritable);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Readable_buffers_then_writable_ones_are_accepted(bool packed, bool indirect)
    {
        using var h = QueueHarness.Create(packed, Size);
        RawDesc[] chain = [new(h.DataBase, 16), new(h.DataBase + 16, 8), new(h.DataBase + 32, 32, VirtqDescFlags.Write), new(h.DataBase + 64, 64, VirtqDescFlags.Write)];
        if (indirect)
        {
            var table = h.DataBase + 0x8000;
            GuestRing.IndirectTable(h, packed, table, chain);
            chain = [new(table, 4 * VirtqDesc.Size, VirtqDescFlags.Indirect)];
        }

        GuestRing.OfferChain(h, packed, chain);

        Assert.True(h.Device.TryPop(out var popped));
        Assert.Equal(QueueError.None, GuestRing.Walk(ref popped));
        Assert.Equal(24u, popped.ReadableBytes);
        Assert.Equal(96u, popped.WritableBytes);
    }
}
