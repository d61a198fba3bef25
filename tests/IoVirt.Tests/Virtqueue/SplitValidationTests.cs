using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Tests.Virtqueue;

/// <summary>
/// Every rule the device enforces on a split ring the guest controls. Each test hands the device
/// one violation and expects that exact error, a stopped queue, and no exception.
/// </summary>
public class SplitValidationTests
{
    private const VirtqDescFlags Next = VirtqDescFlags.Next;
    private const VirtqDescFlags Write = VirtqDescFlags.Write;
    private const VirtqDescFlags Indirect = VirtqDescFlags.Indirect;

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(100)]
    [InlineData(32769)]
    [InlineData(65536)]
    public void A_queue_size_that_is_zero_too_large_or_not_a_power_of_two_is_refused(int size)
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        Assert.Equal(QueueError.InvalidQueueSize, SplitQueue.TryCreate(h.Memory, h.Config with { Size = size }, QueuePosition.Initial, out var q));
        Assert.Null(q);
    }

    [Theory]
    [InlineData(8, 0, 0)]
    [InlineData(0, 1, 0)]
    [InlineData(0, 0, 2)]
    public void Misaligned_ring_parts_are_refused(int descOffset, int availOffset, int usedOffset)
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var config = h.Config with
        {
            DescriptorTable = h.Config.DescriptorTable + (ulong)descOffset,
            DriverArea = h.Config.DriverArea + (ulong)availOffset,
            DeviceArea = h.Config.DeviceArea + (ulong)usedOffset,
        };
        Assert.Equal(QueueError.RingMisaligned, SplitQueue.TryCreate(h.Memory, config, QueuePosition.Initial, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void A_ring_part_outside_guest_memory_or_straddling_its_end_is_refused(int part)
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var outside = 0x10UL; // below the region
        var straddling = h.RegionEnd - 16; // starts inside, ends past the region
        foreach (var address in new[] { outside, straddling })
        {
            var config = part switch
            {
                0 => h.Config with { DescriptorTable = address & ~15UL },
                1 => h.Config with { DriverArea = address },
                _ => h.Config with { DeviceArea = address },
            };
            Assert.Equal(QueueError.RingOutsideMemory, SplitQueue.TryCreate(h.Memory, config, QueuePosition.Initial, out _));
        }
    }

    [Fact]
    public void The_available_index_moving_more_than_the_queue_size_ahead_stops_the_queue()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        new RingWriter(h).SetAvailIndex(9);
        ExpectFaultOnPop(h, QueueError.AvailIndexJump);
    }

    [Fact]
    public void The_available_index_exactly_a_queue_size_ahead_is_accepted()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Split(0, h.DataBase, 16);
        ring.Publish(0, 0, 0, 0, 0, 0, 0, 0);
        for (var i = 0; i < 8; i++)
        {
            Assert.True(h.Device.TryPop(out var chain));
            Assert.True(chain.TryGetNext(out _));
        }

        Assert.Equal(QueueError.None, h.Device.Fault);
    }

    [Fact]
    public void A_head_index_beyond_the_queue_stops_the_queue()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        new RingWriter(h).Publish(8);
        ExpectFaultOnPop(h, QueueError.DescriptorIndexOutOfRange);
    }

    [Fact]
    public void A_next_index_beyond_the_queue_ends_the_walk_with_an_error()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Split(0, h.DataBase, 16, Next, next: 8);
        ring.Publish(0);
        ExpectWalkError(h, QueueError.DescriptorIndexOutOfRange, buffersBefore: 1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public void A_loop_of_descriptors_is_cut_at_the_queue_size(int loopLength)
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        for (var i = 0; i < loopLength; i++)
        {
            ring.Split(i, h.DataBase, 16, Next, next: (ushort)((i + 1) % loopLength));
        }

        ring.Publish(0);
        ExpectWalkError(h, QueueError.ChainTooLong, buffersBefore: 8);
    }

    [Fact]
    public void A_chain_as_long_as_the_queue_is_accepted()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        for (var i = 0; i < 8; i++)
        {
            ring.Split(i, h.DataBase, 16, i < 7 ? Next : VirtqDescFlags.None, next: (ushort)(i + 1));
        }

        ring.Publish(0);
        Assert.Equal(8, WalkAll(h, out var error));
        Assert.Equal(QueueError.None, error);
    }

    [Fact]
    public void An_indirect_descriptor_inside_an_indirect_table_is_refused()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        var table = h.DataBase + 0x1000;
        ring.Table(table, RingWriter.Descriptor(h.DataBase, 16, Next, 1), RingWriter.Descriptor(table, 32, Indirect));
        ring.Split(0, table, 32, Indirect);
        ring.Publish(0);
        ExpectWalkError(h, QueueError.NestedIndirect, buffersBefore: 1);
    }

    [Fact]
    public void An_indirect_descriptor_without_the_negotiated_feature_is_refused()
    {
        using var h = QueueHarness.Create(packed: false, size: 8, indirect: false);
        var ring = new RingWriter(h);
        ring.Table(h.DataBase + 0x1000, RingWriter.Descriptor(h.DataBase, 16));
        ring.Split(0, h.DataBase + 0x1000, 16, Indirect);
        ring.Publish(0);
        ExpectWalkError(h, QueueError.IndirectNotNegotiated, buffersBefore: 0);
    }

    [Fact]
    public void An_indirect_descriptor_with_next_set_is_refused()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Table(h.DataBase + 0x1000, RingWriter.Descriptor(h.DataBase, 16));
        ring.Split(0, h.DataBase + 0x1000, 16, Indirect | Next, next: 1);
        ring.Split(1, h.DataBase, 16);
        ring.Publish(0);
        ExpectWalkError(h, QueueError.IndirectWithNext, buffersBefore: 0);
    }

    [Fact]
    public void Direct_descriptors_followed_by_one_indirect_table_are_one_chain()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Table(h.DataBase + 0x1000, RingWriter.Descriptor(h.DataBase + 0x100, 8, Next, 1), RingWriter.Descriptor(h.DataBase + 0x200, 8, Write));
        ring.Split(0, h.DataBase, 4, Next, next: 1);
        ring.Split(1, h.DataBase + 0x1000, 32, Indirect);
        ring.Publish(0);
        Assert.Equal(3, WalkAll(h, out var error));
        Assert.Equal(QueueError.None, error);
    }

    [Theory]
    [InlineData(24u, QueueError.IndirectTableMisSized)]
    [InlineData(15u, QueueError.IndirectTableMisSized)]
    [InlineData(0u, QueueError.IndirectTableEmpty)]
    [InlineData(65537u * 16, QueueError.IndirectTableTooLarge)]
    public void An_indirect_table_of_a_bad_length_is_refused(uint length, QueueError expected)
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Split(0, h.DataBase, length, Indirect);
        ring.Publish(0);
        ExpectWalkError(h, expected, buffersBefore: 0);
    }

    [Theory]
    [InlineData(0x10UL)]
    [InlineData(ulong.MaxValue - 8)]
    public void An_indirect_table_outside_guest_memory_is_refused(ulong address)
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Split(0, address, 32, Indirect);
        ring.Publish(0);
        ExpectWalkError(h, QueueError.IndirectTableOutsideMemory, buffersBefore: 0);
    }

    [Fact]
    public void An_indirect_table_running_past_the_region_end_is_refused()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Split(0, h.RegionEnd - 16, 32, Indirect);
        ring.Publish(0);
        ExpectWalkError(h, QueueError.IndirectTableOutsideMemory, buffersBefore: 0);
    }

    [Fact]
    public void An_index_beyond_an_indirect_table_is_refused()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Table(h.DataBase + 0x1000, RingWriter.Descriptor(h.DataBase, 16, Next, 2), RingWriter.Descriptor(h.DataBase, 16));
        ring.Split(0, h.DataBase + 0x1000, 32, Indirect);
        ring.Publish(0);
        ExpectWalkError(h, QueueError.DescriptorIndexOutOfRange, buffersBefore: 1);
    }

    [Fact]
    public void A_loop_inside_an_indirect_table_is_cut_at_the_table_size()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Table(h.DataBase + 0x1000, RingWriter.Descriptor(h.DataBase, 16, Next, 1), RingWriter.Descriptor(h.DataBase, 16, Next, 0));
        ring.Split(0, h.DataBase + 0x1000, 32, Indirect);
        ring.Publish(0);
        ExpectWalkError(h, QueueError.ChainTooLong, buffersBefore: 2);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_readable_buffer_after_a_writable_one_is_refused(bool inIndirectTable)
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        if (inIndirectTable)
        {
            ring.Table(h.DataBase + 0x1000, RingWriter.Descriptor(h.DataBase, 16, Write | Next, 1), RingWriter.Descriptor(h.DataBase, 16));
            ring.Split(0, h.DataBase + 0x1000, 32, Indirect);
        }
        else
        {
            ring.Split(0, h.DataBase, 16, Write | Next, next: 1);
            ring.Split(1, h.DataBase, 16);
        }

        ring.Publish(0);
        ExpectWalkError(h, QueueError.ReadableAfterWritable, buffersBefore: 1);
    }

    [Fact]
    public void Buffers_adding_up_past_four_gigabytes_are_refused_before_memory_is_consulted()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Split(0, h.DataBase, 0x8000_0000, Next, next: 1);
        ring.Split(1, h.DataBase, 0x8000_0000);
        ring.Publish(0);
        Assert.True(h.Device.TryPop(out var chain));
        // The first buffer is 2 GiB and lies outside the 1 MiB data area: memory refuses it first.
        Assert.False(chain.TryGetNext(out _));
        Assert.Equal(QueueError.BufferOutsideMemory, chain.Error);

        using var big = QueueHarness.Create(packed: false, size: 8, dataBytes: 0x8000_1000);
        var bigRing = new RingWriter(big);
        bigRing.Split(0, big.DataBase, 0x8000_0000, Next, next: 1);
        bigRing.Split(1, big.DataBase, 0x8000_0000);
        bigRing.Publish(0);
        ExpectWalkError(big, QueueError.TotalLengthOverflow, buffersBefore: 1);
    }

    [Theory]
    [InlineData(0x0UL, 16u)]
    [InlineData(0x10UL, 16u)]
    [InlineData(ulong.MaxValue - 4, 16u)]
    public void A_buffer_outside_guest_memory_or_wrapping_around_is_refused(ulong address, uint length)
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Split(0, address, length);
        ring.Publish(0);
        ExpectWalkError(h, QueueError.BufferOutsideMemory, buffersBefore: 0);
    }

    [Fact]
    public void A_buffer_running_past_the_region_end_is_refused()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Split(0, h.RegionEnd - 8, 16);
        ring.Publish(0);
        ExpectWalkError(h, QueueError.BufferOutsideMemory, buffersBefore: 0);
    }

    [Fact]
    public void A_zero_length_buffer_anywhere_is_accepted()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Split(0, 0xdead_0000_0000, 0, Next, next: 1);
        ring.Split(1, h.DataBase, 16);
        ring.Publish(0);
        Assert.Equal(2, WalkAll(h, out var error));
        Assert.Equal(QueueError.None, error);
    }

    [Fact]
    public void A_buffer_crossing_two_adjacent_regions_is_accepted_and_scatters_in_two()
    {
        var low = GuestRegion.Allocate(0x10_0000, 0x10_0000);
        var high = GuestRegion.Allocate(0x20_0000, 0x10_0000);
        using var memory = new GuestMemory(low, high);
        var config = RingLayout.Split(0x10_0000, 8);
        Assert.Equal(QueueError.None, SplitQueue.TryCreate(memory, config, QueuePosition.Initial, out var device));
        var driver = new SplitDriverQueue(memory, config);
        Assert.True(driver.TryAdd([new DriverBuffer(0x20_0000 - 100, 300, true)], false, out _));
        driver.PublishAvail();

        Assert.True(device!.TryPop(out var chain));
        Assert.True(chain.TryGetNext(out var buffer));
        Assert.False(buffer.IsContiguous);
        Span<HostSegment> segments = stackalloc HostSegment[4];
        Assert.Equal(2, memory.Scatter(buffer.GuestAddress, buffer.Length, segments, out var fault));
        Assert.Equal(MemoryFault.None, fault);
        Assert.Equal(100, segments[0].Length);
        Assert.Equal(200, segments[1].Length);
    }

    [Fact]
    public void After_a_fault_nothing_more_is_popped_even_when_valid_chains_follow()
    {
        using var h = QueueHarness.Create(packed: false, size: 8);
        var ring = new RingWriter(h);
        ring.Split(0, 0x10, 16);
        ring.Split(1, h.DataBase, 16);
        ring.Publish(0, 1);
        ExpectWalkError(h, QueueError.BufferOutsideMemory, buffersBefore: 0);
        Assert.False(h.Device.TryPop(out _));
        Assert.True(h.Device.IsBroken);
    }

    private static void ExpectFaultOnPop(QueueHarness h, QueueError expected)
    {
        Assert.False(h.Device.TryPop(out _));
        Assert.Equal(expected, h.Device.Fault);
        Assert.False(h.Device.TryPop(out _));
    }

    /// <summary>Pops one chain, expects <paramref name="buffersBefore"/> good buffers, then <paramref name="expected"/>.</summary>
    private static void ExpectWalkError(QueueHarness h, QueueError expected, int buffersBefore)
    {
        Assert.True(h.Device.TryPop(out var chain));
        var walked = 0;
        while (chain.TryGetNext(out _))
        {
            walked++;
        }

        Assert.Equal(expected, chain.Error);
        Assert.Equal(expected, h.Device.Fault);
        Assert.Equal(buffersBefore, walked);
        Assert.False(h.Device.TryPop(out _));
    }

    private static int WalkAll(QueueHarness h, out QueueError error)
    {
        Assert.True(h.Device.TryPop(out var chain));
        var walked = 0;
        while (chain.TryGetNext(out _))
        {
            walked++;
        }

        error = chain.Error;
        return walked;
    }
}
