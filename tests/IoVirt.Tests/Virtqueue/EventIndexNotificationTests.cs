using IoVirt.Abi.Virtio;
using IoVirt.Testing;

namespace IoVirt.Tests.Virtqueue;

public class EventIndexNotificationTests
{
    [Theory]
    [InlineData(false, 4)]
    [InlineData(true, 4)]
    [InlineData(true, 3)]
    [InlineData(true, 5)]
    public void With_event_idx_an_interrupt_is_needed_when_the_used_index_passes_used_event_and_not_again_until_it_is_renewed(bool packed, int size)
    {
        // Small rings, packed ones of any size: the laps cross the ring's wrap several times.
        using var h = QueueHarness.Create(packed, size, eventIdx: true);
        Assert.False(h.Driver.EnableInterrupts());

        for (var lap = 0; lap < 10; lap++)
        {
            QueueFlow.Offer(h);
            QueueFlow.Offer(h);

            QueueFlow.Complete(h.Device);
            Assert.True(h.Device.NeedsInterrupt());

            QueueFlow.Complete(h.Device);
            Assert.False(h.Device.NeedsInterrupt());

            Assert.Equal(2, QueueFlow.TakeAll(h));
            Assert.False(h.Driver.EnableInterrupts());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void With_event_idx_a_batch_that_passes_used_event_needs_one_interrupt(bool packed)
    {
        using var h = QueueHarness.Create(packed, 8, eventIdx: true);
        h.Driver.EnableInterrupts();
        for (var i = 0; i < 3; i++)
        {
            QueueFlow.Offer(h);
        }

        for (var i = 0; i < 3; i++)
        {
            h.Device.AddUsed(QueueFlow.Pop(h.Device), 0);
        }

        h.Device.PublishUsed();
        Assert.True(h.Device.NeedsInterrupt());
        Assert.False(h.Device.NeedsInterrupt());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public unsafe void Only_the_publish_that_moves_the_used_index_past_the_event_needs_an_interrupt(bool packed)
    {
        const int size = 8;
        const ushort usedEvent = 5;
        using var h = QueueHarness.Create(packed, size, eventIdx: true);
        if (packed)
        {
            var driverEvent = GuestRing.At<PackedEventSuppression>(h.Memory, h.Config.DriverArea);
            driverEvent->OffWrap = usedEvent | 0x8000; // offset 5 in the first lap
            driverEvent->Flags = PackedEventFlags.Desc;
        }
        else
        {
            *GuestRing.At<ushort>(h.Memory, h.Config.DriverArea + (ulong)VirtqAvail.UsedEventOffset(size)) = LittleEndian.FromHost(usedEvent);
        }

        for (var i = 0; i < size; i++)
        {
            QueueFlow.Offer(h);
        }

        for (var published = 1; published <= size; published++)
        {
            QueueFlow.Complete(h.Device);
            Assert.Equal(published == usedEvent + 1, h.Device.NeedsInterrupt());
        }
    }

    [Theory]
    [InlineData(false, 4)]
    [InlineData(true, 4)]
    [InlineData(true, 3)]
    [InlineData(true, 5)]
    public void With_event_idx_a_kick_is_needed_when_the_avail_index_passes_avail_event_and_not_again_until_it_is_renewed(bool packed, int size)
    {
        using var h = QueueHarness.Create(packed, size, eventIdx: true);
        Assert.False(h.Device.EnableNotifications());

        for (var lap = 0; lap < 10; lap++)
        {
            QueueFlow.Offer(h);
            Assert.True(h.Driver.NeedsKick());

            QueueFlow.Offer(h);
            Assert.False(h.Driver.NeedsKick());

            QueueFlow.Complete(h.Device);
            QueueFlow.Complete(h.Device);
            Assert.False(h.Device.EnableNotifications());
            Assert.Equal(2, QueueFlow.TakeAll(h));
        }
    }
}
