using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Tests.Virtqueue;

public class RoundTripTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void A_chain_added_by_the_driver_reaches_the_device_and_comes_back_with_its_length(bool packed, bool indirect)
    {
        using var h = QueueHarness.Create(packed, 8);
        var d = h.DataBase;
        Span<DriverBuffer> chain = [new(d, 16, false), new(d + 16, 100, false), new(d + 4096, 512, true)];

        for (var lap = 0; lap < 20; lap++)
        {
            Assert.True(h.Driver.TryAdd(chain, indirect, out var id));
            h.Driver.PublishAvail();

            Assert.True(h.Device.TryPop(out var popped));
            var seen = new List<(ulong, uint, bool)>();
            while (popped.TryGetNext(out var buffer))
            {
                seen.Add((buffer.GuestAddress, buffer.Length, buffer.IsWritable));
            }

            Assert.Equal(QueueError.None, popped.Error);
            Assert.Equal([(d, 16u, false), (d + 16, 100u, false), (d + 4096, 512u, true)], seen);
            Assert.Equal(116u, popped.ReadableBytes);
            Assert.Equal(512u, popped.WritableBytes);
            Assert.False(h.Device.TryPop(out _));

            h.Device.AddUsed(popped.Head, 77);
            h.Device.PublishUsed();
            Assert.True(h.Driver.TryTakeUsed(out var usedId, out var written));
            Assert.Equal(id, usedId);
            Assert.Equal(77u, written);
            Assert.False(h.Driver.TryTakeUsed(out _, out _));
        }
    }
}
