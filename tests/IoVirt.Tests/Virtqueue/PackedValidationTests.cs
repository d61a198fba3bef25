using IoVirt.Abi.Virtio;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;

namespace IoVirt.Tests.Virtqueue;

/// <summary>Every rule the device enforces on a packed ring the guest controls.</summary>
public class PackedValidationTests
{
    private const PackedDescFlags Next = PackedDescFlags.Next;
    private const PackedDescFlags Write = PackedDescFlags.Write;
    private const PackedDescFlags Indirect = PackedDescFlags.Indirect;

    [Theory]
    [InlineData(0)]
    [InlineData(32769)]
    public void A_queue_size_of_zero_or_above_32768_is_refused(int size)
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        Assert.Equal(QueueError.InvalidQueueSize, PackedQueue.TryCreate(h.Memory, h.Config with { Size = size }, QueuePosition.Initial, out _));
    }

    [Fact]
    public void A_packed_queue_size_need_not_be_a_power_of_two()
    {
        using var h = QueueHarness.Create(packed: true, size: 100);
        var ring = new RingWriter(h);
        ring.Packed(0, h.DataBase, 16, id: 7);
        Assert.True(h.Device.TryPop(out var chain));
        Assert.Equal(7, chain.Head.Id);
    }

    [Theory]
    [InlineData(8, 0, 0)]
    [InlineData(0, 2, 0)]
    [InlineData(0, 0, 1)]
    public void Misaligned_ring_parts_are_refused(int ringOffset, int driverOffset, int deviceOffset)
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        var config = h.Config with
        {
            DescriptorTable = h.Config.DescriptorTable + (ulong)ringOffset,
            DriverArea = h.Config.DriverArea + (ulong)driverOffset,
            DeviceArea = h.Config.DeviceArea + (ulong)deviceOffset,
        };
        Assert.Equal(QueueError.RingMisaligned, PackedQueue.TryCreate(h.Memory, config, QueuePosition.Initial, out _));
    }

    [Fact]
    public void A_ring_outside_guest_memory_is_refused()
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        Assert.Equal(QueueError.RingOutsideMemory, PackedQueue.TryCreate(h.Memory, h.Config with { DescriptorTable = h.RegionEnd - 64 }, QueuePosition.Initial, out _));
        Assert.Equal(QueueError.RingOutsideMemory, PackedQueue.TryCreate(h.Memory, h.Config with { DeviceArea = 0x20 }, QueuePosition.Initial, out _));
    }

    [Fact]
    public void A_restored_position_beyond_the_ring_is_refused()
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        Assert.Equal(QueueError.DescriptorIndexOutOfRange, PackedQueue.TryCreate(h.Memory, h.Config, new QueuePosition(8, true, 0, true), out _));
        Assert.Equal(QueueError.DescriptorIndexOutOfRange, PackedQueue.TryCreate(h.Memory, h.Config, new QueuePosition(0, true, 9, true), out _));
    }

    [Fact]
    public void A_chain_whose_next_runs_over_every_slot_is_refused()
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        var ring = new RingWriter(h);
        for (var slot = 0; slot < 8; slot++)
        {
            ring.Packed(slot, h.DataBase, 16, id: 1, Next);
        }

        Assert.False(h.Device.TryPop(out _));
        Assert.Equal(QueueError.ChainTooLong, h.Device.Fault);
    }

    [Fact]
    public void A_chain_continuing_into_a_slot_not_made_available_is_refused()
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        var ring = new RingWriter(h);
        ring.Packed(0, h.DataBase, 16, id: 1, Next);
        ring.Packed(1, h.DataBase, 16, id: 1, available: false);
        Assert.False(h.Device.TryPop(out _));
        Assert.Equal(QueueError.ChainIncomplete, h.Device.Fault);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_indirect_descriptor_that_is_not_alone_in_its_chain_is_refused(bool indirectFirst)
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        var ring = new RingWriter(h);
        ring.Packed(0, h.DataBase, 32, id: 1, indirectFirst ? Indirect | Next : Next);
        ring.Packed(1, h.DataBase, 32, id: 1, indirectFirst ? PackedDescFlags.None : Indirect);
        Assert.False(h.Device.TryPop(out _));
        Assert.Equal(QueueError.IndirectWithNext, h.Device.Fault);
    }

    [Fact]
    public void An_indirect_table_is_walked_in_order_ignoring_next()
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        var ring = new RingWriter(h);
        var table = h.DataBase + 0x1000;
        WritePackedTable(h, table, (h.DataBase, 8, PackedDescFlags.None), (h.DataBase + 64, 16, Write));
        ring.Packed(0, table, 32, id: 5, Indirect);
        Assert.True(h.Device.TryPop(out var chain));
        Assert.Equal(5, chain.Head.Id);
        Assert.Equal(1, chain.Head.RingDescriptors);
        Assert.True(chain.TryGetNext(out var first));
        Assert.True(chain.TryGetNext(out var second));
        Assert.False(chain.TryGetNext(out _));
        Assert.Equal(QueueError.None, chain.Error);
        Assert.False(first.IsWritable);
        Assert.True(second.IsWritable);
    }

    [Fact]
    public void An_indirect_descriptor_inside_a_packed_indirect_table_is_refused()
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        var ring = new RingWriter(h);
        var table = h.DataBase + 0x1000;
        WritePackedTable(h, table, (h.DataBase, 8, PackedDescFlags.None), (table, 32, Indirect));
        ring.Packed(0, table, 32, id: 5, Indirect);
        ExpectWalkError(h, QueueError.NestedIndirect, buffersBefore: 1);
    }

    [Theory]
    [InlineData(24u, QueueError.IndirectTableMisSized)]
    [InlineData(0u, QueueError.IndirectTableEmpty)]
    public void A_packed_indirect_table_of_a_bad_length_is_refused(uint length, QueueError expected)
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        new RingWriter(h).Packed(0, h.DataBase, length, id: 1, Indirect);
        ExpectWalkError(h, expected, buffersBefore: 0);
    }

    [Fact]
    public void An_indirect_descriptor_without_the_negotiated_feature_is_refused()
    {
        using var h = QueueHarness.Create(packed: true, size: 8, indirect: false);
        new RingWriter(h).Packed(0, h.DataBase, 16, id: 1, Indirect);
        ExpectWalkError(h, QueueError.IndirectNotNegotiated, buffersBefore: 0);
    }

    [Fact]
    public void A_readable_buffer_after_a_writable_one_is_refused()
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        var ring = new RingWriter(h);
        ring.Packed(0, h.DataBase, 16, id: 1, Write | Next);
        ring.Packed(1, h.DataBase, 16, id: 1);
        ExpectWalkError(h, QueueError.ReadableAfterWritable, buffersBefore: 1);
    }

    [Fact]
    public void A_buffer_outside_guest_memory_is_refused()
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        new RingWriter(h).Packed(0, h.RegionEnd - 4, 16, id: 1);
        ExpectWalkError(h, QueueError.BufferOutsideMemory, buffersBefore: 0);
    }

    [Fact]
    public void A_slot_already_marked_used_is_not_available()
    {
        using var h = QueueHarness.Create(packed: true, size: 8);
        new RingWriter(h).Packed(0, h.DataBase, 16, id: 1, PackedDescFlags.Used);
        Assert.False(h.Device.TryPop(out _));
        Assert.Equal(QueueError.None, h.Device.Fault);
    }

    private static void WritePackedTable(QueueHarness h, ulong address, params (ulong Address, uint Length, PackedDescFlags Flags)[] entries)
    {
        for (var i = 0; i < entries.Length; i++)
        {
            var d = new PackedDesc { Addr = entries[i].Address, Len = entries[i].Length, Flags = entries[i].Flags | PackedDescFlags.Next };
            Assert.Equal(IoVirt.Memory.MemoryFault.None, h.Memory.Write(address + ((ulong)i * PackedDesc.Size), in d));
        }
    }

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
}
