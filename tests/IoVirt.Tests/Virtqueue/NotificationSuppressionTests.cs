using IoVirt.Testing;

namespace IoVirt.Tests.Virtqueue;

public class NotificationSuppressionTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_fresh_queue_asks_for_kicks_and_interrupts(bool packed)
    {
        using var h = QueueHarness.Create(packed, 8);

        QueueFlow.Offer(h);
        Assert.True(h.Driver.NeedsKick());

        QueueFlow.Complete(h.Device);
        Assert.True(h.Device.NeedsInterrupt());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Without_event_idx_disabling_notifications_stops_kicks_and_enabling_them_restores_kicks(bool packed)
    {
        using var h = QueueHarness.Create(packed, 8);

        h.Device.DisableNotifications();
        QueueFlow.Offer(h);
        Assert.False(h.Driver.NeedsKick());

        Assert.True(h.Device.EnableNotifications()); // the buffer offered meanwhile is waiting
        QueueFlow.Offer(h);
        Assert.True(h.Driver.NeedsKick());

        h.Device.DisableNotifications();
        QueueFlow.Offer(h);
        Assert.False(h.Driver.NeedsKick());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Without_event_idx_disabling_interrupts_stops_interrupts_and_enabling_them_restores_them(bool packed)
    {
        using var h = QueueHarness.Create(packed, 8);

        h.Driver.DisableInterrupts();
        QueueFlow.Offer(h);
        QueueFlow.Complete(h.Device);
        Assert.False(h.Device.NeedsInterrupt());

        Assert.True(h.Driver.EnableInterrupts()); // the buffer used meanwhile is waiting
        Assert.Equal(1, QueueFlow.TakeAll(h));
        QueueFlow.Offer(h);
        QueueFlow.Complete(h.Device);
        Assert.True(h.Device.NeedsInterrupt());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void With_event_idx_a_packed_driver_can_still_disable_interrupts_while_a_split_one_relies_on_used_event(bool packed)
    {
        // Split rings ignore the NO_INTERRUPT flag once EVENT_IDX is negotiated (used_event 0 is
        // passed by the first publish); packed rings honour DISABLE in either mode.
        using var h = QueueHarness.Create(packed, 8, eventIdx: true);

        h.Driver.DisableInterrupts();
        QueueFlow.Offer(h);
        QueueFlow.Complete(h.Device);

        Assert.Equal(!packed, h.Device.NeedsInterrupt());
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void No_interrupt_is_needed_when_nothing_was_published(bool packed, bool eventIdx)
    {
        using var h = QueueHarness.Create(packed, 8, eventIdx);
        h.Driver.EnableInterrupts();

        Assert.False(h.Device.NeedsInterrupt());
        h.Device.PublishUsed(); // an empty batch
        Assert.False(h.Device.NeedsInterrupt());

        QueueFlow.Offer(h);
        QueueFlow.Complete(h.Device);
        Assert.True(h.Device.NeedsInterrupt());
        Assert.False(h.Device.NeedsInterrupt()); // already signalled

        QueueFlow.Offer(h);
        h.Device.AddUsed(QueueFlow.Pop(h.Device), 0);
        Assert.False(h.Device.NeedsInterrupt()); // added but not published yet
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Enabling_notifications_reports_a_buffer_published_before_it(bool packed, bool eventIdx)
    {
        using var h = QueueHarness.Create(packed, 4, eventIdx);

        for (var lap = 0; lap < 6; lap++)
        {
            h.Device.DisableNotifications();
            Assert.False(h.Device.EnableNotifications());

            h.Device.DisableNotifications();
            QueueFlow.Offer(h);
            Assert.True(h.Device.EnableNotifications());

            QueueFlow.Complete(h.Device);
            Assert.False(h.Device.EnableNotifications());
            Assert.Equal(1, QueueFlow.TakeAll(h));
        }
    }
}
