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

    [Theory]
    [InlineData(false, 3)]
    [InlineData(false, 200)]
    [InlineData(true, 3)]
    [InlineData(true, 200)]
    public void Used_elements_reach_the_driver_only_when_published_and_then_all_in_order(bool packed, int chains)
    {
        // The device keeps used elements back until it publishes (and writes some early past a
        // few dozen): none may show before, and every one must after, with its own length.
        using var h = QueueHarness.Create(packed, 256, indirect: false);
        for (var lap = 0; lap < 3; lap++)
        {
            var ids = new List<ushort>();
            for (var i = 0; i < chains; i++)
            {
                Assert.True(h.Driver.TryAdd([new DriverBuffer(h.DataBase + ((ulong)i * 64), 64, true)], false, out var id));
                ids.Add(id);
            }

            h.Driver.PublishAvail();
            var heads = new List<ChainHead>();
            while (h.Device.TryPop(out var chain))
            {
                heads.Add(chain.Head);
            }

            Assert.Equal(chains, heads.Count);
            for (var i = 0; i < heads.Count; i++)
            {
                h.Device.AddUsed(heads[i], (uint)(i % 64));
                Assert.False(h.Driver.TryTakeUsed(out _, out _), $"used element {i} showed before it was published");
            }

            h.Device.PublishUsed();
            for (var i = 0; i < chains; i++)
            {
                Assert.True(h.Driver.TryTakeUsed(out var usedId, out var written), $"used element {i} of {chains} is missing");
                Assert.Equal((ids[i], (uint)(i % 64)), (usedId, written));
            }

            Assert.False(h.Driver.TryTakeUsed(out _, out _));
        }
    }
}
