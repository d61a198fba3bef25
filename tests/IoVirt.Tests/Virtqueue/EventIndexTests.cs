using IoVirt.Virtqueue;

namespace IoVirt.Tests.Virtqueue;

/// <summary>The event-index tests against a model with unbounded ring positions.</summary>
public class EventIndexTests
{
    [Theory]
    [InlineData(0, 1, 0, true)]
    [InlineData(0, 2, 1, false)]
    [InlineData(5, 6, 5, true)]
    [InlineData(5, 5, 4, false)]
    [InlineData(5, 9, 2, true)]
    [InlineData(0xffff, 0, 0xffff, true)]
    [InlineData(0xfffe, 2, 0xfff0, true)]
    [InlineData(3, 3, 3, false)]
    public void NeedsEvent_is_true_when_the_move_from_old_to_new_covers_the_event_index(int eventIndex, int newIndex, int oldIndex, bool expected)
    {
        Assert.Equal(expected, EventIndex.NeedsEvent((ushort)eventIndex, (ushort)newIndex, (ushort)oldIndex));
    }

    [Fact]
    public void NeedsEvent_matches_the_model_for_any_16_bit_indices()
    {
        var random = new Random(20_241_125);
        for (var i = 0; i < 200_000; i++)
        {
            var old = random.Next(65536);
            var moved = random.Next(32769);
            var eventIndex = random.Next(65536);
            var newIndex = unchecked((ushort)(old + moved));

            // The entry at eventIndex was published: it lies in [old, new) modulo 2^16.
            var expected = unchecked((ushort)(eventIndex - old)) < moved;

            Assert.Equal(expected, EventIndex.NeedsEvent((ushort)eventIndex, newIndex, (ushort)old));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(100)]
    [InlineData(256)]
    [InlineData(32768)]
    public void NeedsPackedEvent_matches_the_model_of_unwrapped_ring_positions(int size)
    {
        // A position counts descriptors since the ring started; its ring offset is position mod
        // size and its wrap counter is set in even laps (the first lap is lap 0).
        static ushort Offset(long position, int size) => (ushort)(position % size);
        static bool Wrap(long position, int size) => position / size % 2 == 0;

        var random = new Random(size);
        for (var i = 0; i < 50_000; i++)
        {
            var old = random.NextInt64(2L * size, 1_000_000);
            var moved = random.Next(1, size + 1);
            var next = old + moved;

            // off_wrap names one position per two laps; take the one within a lap of next.
            var eventPosition = next - size + random.Next(2 * size);
            var offWrap = (ushort)(Offset(eventPosition, size) | (Wrap(eventPosition, size) ? 0x8000 : 0));
            var expected = old <= eventPosition && eventPosition < next;

            Assert.Equal(expected, EventIndex.NeedsPackedEvent(offWrap, Offset(next, size), Wrap(next, size), Offset(old, size), size));
        }
    }
}
