using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Tests.Virtqueue;

public class QueuePositionTests
{
    [Fact]
    public void A_fresh_position_has_both_indices_zero_and_both_wrap_counters_set()
    {
        Assert.Equal(new QueuePosition(0, true, 0, true), QueuePosition.Initial);
        Assert.Equal(0x8000_8000u, QueuePosition.Initial.ToPackedWord());
    }

    [Fact]
    public void The_packed_word_holds_avail_offset_avail_wrap_used_offset_used_wrap_from_the_low_bit()
    {
        Assert.Equal(0x0002_8001u, new QueuePosition(1, true, 2, false).ToPackedWord());
        Assert.Equal(0x8004_0003u, new QueuePosition(3, false, 4, true).ToPackedWord());
    }

    [Theory]
    [InlineData(0, false, 0, false)]
    [InlineData(0, true, 0, true)]
    [InlineData(5, true, 7, false)]
    [InlineData(5, false, 7, true)]
    [InlineData(32767, true, 32767, true)]
    [InlineData(32767, false, 1, false)]
    public void A_packed_position_survives_the_packed_word_round_trip(int nextAvail, bool availWrap, int nextUsed, bool usedWrap)
    {
        var position = new QueuePosition((ushort)nextAvail, availWrap, (ushort)nextUsed, usedWrap);

        Assert.Equal(position, QueuePosition.FromPackedWord(position.ToPackedWord()));
    }

    [Theory]
    [InlineData(0x0000_0000u)]
    [InlineData(0xffff_ffffu)]
    [InlineData(0x1234_5678u)]
    [InlineData(0x8001_7ffeu)]
    public void A_packed_word_survives_the_position_round_trip(uint word)
    {
        Assert.Equal(word, QueuePosition.FromPackedWord(word).ToPackedWord());
    }

    [Theory]
    [InlineData(0x0000_8000u, 0, true)]
    [InlineData(0x0000_0005u, 5, false)]
    [InlineData(0x0000_8123u, 0x123, true)]
    public void A_set_base_without_its_used_half_puts_the_used_position_at_the_avail_one(uint word, int offset, bool wrap)
    {
        // DPDK's virtio_user sends 0x8000 for a fresh packed ring: avail offset 0, wrap counter 1.
        Assert.Equal(new QueuePosition((ushort)offset, wrap, (ushort)offset, wrap), QueuePosition.FromPackedBase(word));
    }

    [Theory]
    [InlineData(0x8000_8000u)]
    [InlineData(0x0002_8001u)]
    [InlineData(0x8004_0003u)]
    public void A_set_base_with_its_used_half_is_read_as_the_packed_word(uint word)
    {
        Assert.Equal(QueuePosition.FromPackedWord(word), QueuePosition.FromPackedBase(word));
    }

    private static DeviceQueue Recreate(QueueHarness h, QueuePosition position)
    {
        if (h.Device is PackedQueue)
        {
            // vhost-user carries a packed ring's position as the 32-bit word.
            Assert.Equal(QueueError.None, PackedQueue.TryCreate(h.Memory, h.Config, QueuePosition.FromPackedWord(position.ToPackedWord()), out var packed));
            return packed!;
        }

        Assert.Equal(QueueError.None, SplitQueue.TryCreate(h.Memory, h.Config, position, out var split));
        return split!;
    }

    [Theory]
    [InlineData(false, 3)]
    [InlineData(false, 6)]
    [InlineData(true, 3)]
    [InlineData(true, 6)]
    public void A_queue_recreated_from_a_saved_position_continues_where_the_old_one_left(bool packed, int before)
    {
        using var h = QueueHarness.Create(packed, 4);
        for (var i = 0; i < before; i++)
        {
            QueueFlow.Offer(h);
            QueueFlow.Complete(h.Device);
            Assert.Equal(1, QueueFlow.TakeAll(h));
        }

        // A chain offered but not popped when the position is saved: the new queue must pop it.
        var waiting = QueueFlow.Offer(h);
        var saved = h.Device.Position;
        var queue = Recreate(h, saved);
        Assert.Equal(saved, queue.Position);

        var head = QueueFlow.Pop(queue);
        Assert.Equal(waiting, head.Id);
        queue.AddUsed(head, 9);
        queue.PublishUsed();
        Assert.True(h.Driver.TryTakeUsed(out var id, out var written));
        Assert.Equal((waiting, 9u), (id, written));

        for (var lap = 0; lap < 10; lap++)
        {
            var offered = QueueFlow.Offer(h);
            queue.AddUsed(QueueFlow.Pop(queue), (uint)lap);
            queue.PublishUsed();
            Assert.True(h.Driver.TryTakeUsed(out id, out written));
            Assert.Equal((offered, (uint)lap), (id, written));
        }

        Assert.False(queue.IsBroken);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_position_advances_with_pops_and_used_elements(bool packed)
    {
        using var h = QueueHarness.Create(packed, 4);
        var start = h.Device.Position;
        Assert.Equal(packed ? QueuePosition.Initial : new QueuePosition(0, false, 0, false), start);

        for (var i = 0; i < 5; i++)
        {
            QueueFlow.Offer(h);
            QueueFlow.Complete(h.Device);
            QueueFlow.TakeAll(h);
        }

        // Split: free-running indices. Packed: offset 1 after wrapping once, so both counters flipped.
        Assert.Equal(packed ? new QueuePosition(1, false, 1, false) : new QueuePosition(5, false, 5, false), h.Device.Position);
    }
}
