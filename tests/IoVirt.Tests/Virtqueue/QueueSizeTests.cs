using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Tests.Virtqueue;

public class QueueSizeTests
{
    private const ulong Base = 0x10000;

    // Room for the largest queue of either format.
    private static GuestMemory NewMemory() => new(GuestRegion.Allocate(Base, 4 << 20));

    [Theory]
    [InlineData(0)]
    [InlineData(32769)]
    [InlineData(65536)]
    [InlineData(100)]
    [InlineData(3)]
    public void A_split_queue_size_that_is_zero_too_large_or_not_a_power_of_two_is_refused(int size)
    {
        using var memory = NewMemory();

        var error = SplitQueue.TryCreate(memory, RingLayout.Split(Base, size), QueuePosition.Initial, out var queue);

        Assert.Equal(QueueError.InvalidQueueSize, error);
        Assert.Null(queue);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(256)]
    [InlineData(32768)]
    public void A_split_queue_size_that_is_a_power_of_two_up_to_32768_is_accepted(int size)
    {
        using var memory = NewMemory();

        var error = SplitQueue.TryCreate(memory, RingLayout.Split(Base, size), QueuePosition.Initial, out var queue);

        Assert.Equal(QueueError.None, error);
        Assert.NotNull(queue);
        Assert.Equal(size, queue.Size);
        Assert.False(queue.TryPop(out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(32769)]
    [InlineData(65536)]
    public void A_packed_queue_size_that_is_zero_or_above_32768_is_refused(int size)
    {
        using var memory = NewMemory();

        var error = PackedQueue.TryCreate(memory, RingLayout.Packed(Base, size), QueuePosition.Initial, out var queue);

        Assert.Equal(QueueError.InvalidQueueSize, error);
        Assert.Null(queue);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    [InlineData(32768)]
    public void A_packed_queue_size_need_not_be_a_power_of_two(int size)
    {
        using var memory = NewMemory();

        var error = PackedQueue.TryCreate(memory, RingLayout.Packed(Base, size), QueuePosition.Initial, out var queue);

        Assert.Equal(QueueError.None, error);
        Assert.NotNull(queue);
        Assert.Equal(size, queue.Size);
        Assert.False(queue.TryPop(out _));
    }
}
