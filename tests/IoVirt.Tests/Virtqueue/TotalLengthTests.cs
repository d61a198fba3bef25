using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Tests.Virtqueue;

public class TotalLengthTests
{
    private const ulong Base = 0x10_0000;
    private const ulong Data = Base + 0x10_0000;
    private const uint TwoGiB = 0x8000_0000;

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void A_chain_longer_than_4_GiB_in_total_stops_the_queue_before_its_buffer_is_translated(bool packed, bool indirect)
    {
        // The second buffer is not guest memory either: the length rule must come first.
        using var h = QueueHarness.Create(packed, 8);
        RawDesc[] chain = [new(h.DataBase, 1), new(0, uint.MaxValue)];
        if (indirect)
        {
            var table = h.DataBase + 0x8000;
            GuestRing.IndirectTable(h, packed, table, chain);
            chain = [new(table, 2 * VirtqDesc.Size, VirtqDescFlags.Indirect)];
        }

        GuestRing.OfferChain(h, packed, chain);
        var buffers = new List<VirtqBuffer>();

        Assert.Equal(QueueError.TotalLengthOverflow, GuestRing.PopAndWalk(h.Device, buffers));

        Assert.Single(buffers);
        GuestRing.AssertStopped(h, QueueError.TotalLengthOverflow);
    }

    /// <summary>
    /// Runs one chain through a queue in a sparse 2 GiB memfd region (only touched pages cost
    /// memory), so buffers of gigabytes are guest memory, and returns the walked chain's outcome.
    /// </summary>
    private static (QueueError Error, uint Readable, int Buffers) RunInLargeMemory(bool packed, params uint[] lengths)
    {
        using var memory = new GuestMemory(GuestRegion.CreateMemfd(Base, 0x10_0000 + (ulong)TwoGiB));
        var size = 8;
        var config = packed ? RingLayout.Packed(Base, size) : RingLayout.Split(Base, size);
        DeviceQueue device;
        DriverQueue driver;
        if (packed)
        {
            Assert.Equal(QueueError.None, PackedQueue.TryCreate(memory, config, QueuePosition.Initial, out var q));
            device = q!;
            driver = new PackedDriverQueue(memory, config);
        }
        else
        {
            Assert.Equal(QueueError.None, SplitQueue.TryCreate(memory, config, QueuePosition.Initial, out var q));
            device = q!;
            driver = new SplitDriverQueue(memory, config);
        }

        var buffers = lengths.Select(length => new DriverBuffer(Data, length, false)).ToArray();
        Assert.True(driver.TryAdd(buffers, indirect: false, out _));
        driver.PublishAvail();

        Assert.True(device.TryPop(out var chain));
        var seen = new List<VirtqBuffer>();
        var error = GuestRing.Walk(ref chain, seen);
        Assert.Equal(error, device.Fault);
        return (error, chain.ReadableBytes, seen.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Two_2_GiB_buffers_in_guest_memory_overflow_the_total(bool packed)
    {
        var (error, readable, buffers) = RunInLargeMemory(packed, TwoGiB, TwoGiB);

        Assert.Equal(QueueError.TotalLengthOverflow, error);
        Assert.Equal(TwoGiB, readable);
        Assert.Equal(1, buffers);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_chain_of_exactly_4_GiB_minus_one_byte_is_accepted(bool packed)
    {
        var (error, readable, buffers) = RunInLargeMemory(packed, TwoGiB, TwoGiB - 1);

        Assert.Equal(QueueError.None, error);
        Assert.Equal(uint.MaxValue, readable);
        Assert.Equal(2, buffers);
    }
}
