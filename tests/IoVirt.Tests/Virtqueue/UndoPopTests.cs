using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Virtqueue;

public class UndoPopTests
{
    private static (ChainHead Head, List<(ulong, uint, bool)> Buffers) PopAndRead(DeviceQueue device)
    {
        Assert.True(device.TryPop(out var chain));
        var buffers = new List<VirtqBuffer>();
        Assert.Equal(QueueError.None, GuestRing.Walk(ref chain, buffers));
        return (chain.Head, buffers.Select(b => (b.GuestAddress, b.Length, b.IsWritable)).ToList());
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Undoing_the_last_pop_makes_the_same_chain_pop_again(bool packed, bool indirect)
    {
        using var h = QueueHarness.Create(packed, 8);
        var d = h.DataBase;
        for (var lap = 0; lap < 5; lap++)
        {
            Assert.True(h.Driver.TryAdd([new(d, 16, false), new(d + 16, 32, false), new(d + 64, 64, true)], indirect, out var first));
            Assert.True(h.Driver.TryAdd([new(d + 4096, 8, true)], indirect, out var second));
            h.Driver.PublishAvail();

            var popped = PopAndRead(h.Device);
            h.Device.UndoLastPop();
            var again = PopAndRead(h.Device);

            Assert.Equal(popped.Head.Id, again.Head.Id);
            Assert.Equal(popped.Head.RingDescriptors, again.Head.RingDescriptors);
            Assert.Equal(popped.Buffers, again.Buffers);
            Assert.Equal(3, again.Buffers.Count);

            var next = PopAndRead(h.Device);
            Assert.Equal([(d + 4096, 8u, true)], next.Buffers);
            Assert.False(h.Device.TryPop(out _));

            h.Device.AddUsed(again.Head, 1);
            h.Device.AddUsed(next.Head, 2);
            h.Device.PublishUsed();
            Assert.True(h.Driver.TryTakeUsed(out var id, out var written));
            Assert.Equal((first, 1u), (id, written));
            Assert.True(h.Driver.TryTakeUsed(out id, out written));
            Assert.Equal((second, 2u), (id, written));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_undone_chain_is_popped_again_before_chains_offered_after_it(bool packed)
    {
        using var h = QueueHarness.Create(packed, 8);
        var first = QueueFlow.Offer(h);
        var head = QueueFlow.Pop(h.Device);
        h.Device.UndoLastPop();
        QueueFlow.Offer(h);

        Assert.Equal(head.Id, QueueFlow.Pop(h.Device).Id);
        h.Device.AddUsed(head, 0);
        h.Device.PublishUsed();
        Assert.True(h.Driver.TryTakeUsed(out var id, out _));
        Assert.Equal(first, id);
    }
}
