using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Tests.Virtqueue;

public class RebindTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rebinding_to_a_new_snapshot_keeps_the_positions(bool packed)
    {
        using var h = QueueHarness.Create(packed, 4);
        for (var i = 0; i < 3; i++)
        {
            QueueFlow.Offer(h);
            QueueFlow.Complete(h.Device);
            QueueFlow.TakeAll(h);
        }

        var waiting = QueueFlow.Offer(h);
        var position = h.Device.Position;
        using var snapshot = h.Memory.WithDirtyLog(null);

        Assert.Equal(QueueError.None, h.Device.Rebind(snapshot));

        Assert.Same(snapshot, h.Device.Memory);
        Assert.Equal(position, h.Device.Position);
        var head = QueueFlow.Pop(h.Device);
        Assert.Equal(waiting, head.Id);
        h.Device.AddUsed(head, 0);
        h.Device.PublishUsed();
        Assert.Equal(1, QueueFlow.TakeAll(h));
        for (var lap = 0; lap < 6; lap++)
        {
            QueueFlow.Offer(h);
            QueueFlow.Complete(h.Device);
            Assert.Equal(1, QueueFlow.TakeAll(h));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void After_rebinding_buffers_are_translated_in_the_new_snapshot(bool packed)
    {
        const ulong added = 0x4000_0000;
        using var h = QueueHarness.Create(packed, 4);
        using var snapshot = h.Memory.WithRegion(GuestRegion.Allocate(added, 0x1000));
        Assert.Equal(QueueError.None, h.Device.Rebind(snapshot));

        Assert.True(h.Driver.TryAdd([new DriverBuffer(added, 0x1000, true)], indirect: false, out _));
        h.Driver.PublishAvail();
        Assert.True(h.Device.TryPop(out var chain));
        Assert.True(chain.TryGetNext(out var buffer));

        Assert.Equal(QueueError.None, chain.Error);
        Assert.True(buffer.IsContiguous);
        Assert.Equal(0x1000, buffer.Span.Length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rebinding_to_a_snapshot_without_the_rings_stops_the_queue(bool packed)
    {
        using var h = QueueHarness.Create(packed, 4);
        using var elsewhere = new GuestMemory(GuestRegion.Allocate(0x4000_0000, 0x1000));
        QueueFlow.Offer(h);

        Assert.Equal(QueueError.RingOutsideMemory, h.Device.Rebind(elsewhere));

        Assert.Equal(QueueError.RingOutsideMemory, h.Device.Fault);
        Assert.Same(h.Memory, h.Device.Memory);
        Assert.False(h.Device.TryPop(out _));
    }
}
