using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Tests.Virtqueue;

public class RingPlacementTests
{
    private const int Size = 16;
    private const ulong Base = 0x10000;

    // The region ends 2 bytes past a page boundary, so a 4-byte packed event suppression area
    // placed (aligned) on that boundary straddles the end.
    private const ulong RegionSize = 0x10002;
    private const ulong Straddling = Base + 0x10000;

    public enum Part
    {
        Descriptors,
        Driver,
        Device,
    }

    private static GuestMemory NewMemory(ulong size = RegionSize) => new(GuestRegion.Allocate(Base, size));

    /// <summary>A valid layout (one page per part) with <paramref name="part"/> moved to <paramref name="address"/>.</summary>
    private static QueueConfig Layout(Part part, ulong? address = null, bool eventIdx = false)
    {
        var config = new QueueConfig(Size, Base, Base + 0x1000, Base + 0x2000, eventIdx);
        return part switch
        {
            Part.Descriptors => config with { DescriptorTable = address ?? config.DescriptorTable },
            Part.Driver => config with { DriverArea = address ?? config.DriverArea },
            _ => config with { DeviceArea = address ?? config.DeviceArea },
        };
    }

    private static QueueError Create(bool packed, GuestMemory memory, QueueConfig config)
    {
        if (packed)
        {
            var error = PackedQueue.TryCreate(memory, config, QueuePosition.Initial, out var queue);
            Assert.Equal(error == QueueError.None, queue is not null);
            return error;
        }
        else
        {
            var error = SplitQueue.TryCreate(memory, config, QueuePosition.Initial, out var queue);
            Assert.Equal(error == QueueError.None, queue is not null);
            return error;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_reference_layout_is_accepted(bool packed)
    {
        using var memory = NewMemory();

        Assert.Equal(QueueError.None, Create(packed, memory, Layout(Part.Descriptors)));
    }

    [Theory]
    [InlineData(false, Part.Descriptors, 8)]
    [InlineData(false, Part.Driver, 1)]
    [InlineData(false, Part.Device, 2)]
    [InlineData(true, Part.Descriptors, 8)]
    [InlineData(true, Part.Driver, 2)]
    [InlineData(true, Part.Device, 2)]
    public void A_ring_part_off_its_alignment_is_refused(bool packed, Part part, int offset)
    {
        using var memory = NewMemory();
        var config = Layout(part);
        var moved = part switch
        {
            Part.Descriptors => config with { DescriptorTable = config.DescriptorTable + (ulong)offset },
            Part.Driver => config with { DriverArea = config.DriverArea + (ulong)offset },
            _ => config with { DeviceArea = config.DeviceArea + (ulong)offset },
        };

        Assert.Equal(QueueError.RingMisaligned, Create(packed, memory, moved));
    }

    [Theory]
    [InlineData(false, Part.Descriptors, 0UL)]
    [InlineData(false, Part.Driver, 0UL)]
    [InlineData(false, Part.Device, 0UL)]
    [InlineData(false, Part.Descriptors, Base + 0x20000)]
    [InlineData(false, Part.Driver, Base + 0x20000)]
    [InlineData(false, Part.Device, Base + 0x20000)]
    [InlineData(false, Part.Descriptors, Straddling)]
    [InlineData(false, Part.Driver, Straddling)]
    [InlineData(false, Part.Device, Straddling)]
    [InlineData(true, Part.Descriptors, 0UL)]
    [InlineData(true, Part.Driver, 0UL)]
    [InlineData(true, Part.Device, 0UL)]
    [InlineData(true, Part.Descriptors, Base + 0x20000)]
    [InlineData(true, Part.Driver, Base + 0x20000)]
    [InlineData(true, Part.Device, Base + 0x20000)]
    [InlineData(true, Part.Descriptors, Straddling)]
    [InlineData(true, Part.Driver, Straddling)]
    [InlineData(true, Part.Device, Straddling)]
    public void A_ring_part_not_entirely_in_guest_memory_is_refused(bool packed, Part part, ulong address)
    {
        using var memory = NewMemory();

        Assert.Equal(QueueError.RingOutsideMemory, Create(packed, memory, Layout(part, address)));
    }

    [Theory]
    [InlineData(false, Part.Descriptors)]
    [InlineData(false, Part.Driver)]
    [InlineData(false, Part.Device)]
    [InlineData(true, Part.Descriptors)]
    [InlineData(true, Part.Driver)]
    [InlineData(true, Part.Device)]
    public void A_ring_part_crossing_from_one_region_into_the_next_is_refused(bool packed, Part part)
    {
        // Two adjacent regions: every byte is guest memory, but the part is not in one host block.
        using var memory = new GuestMemory(GuestRegion.Allocate(Base, RegionSize), GuestRegion.Allocate(Base + RegionSize, 0x10000));

        Assert.Equal(QueueError.RingOutsideMemory, Create(packed, memory, Layout(part, Straddling)));
    }

    [Theory]
    [InlineData(Part.Driver, 4 + (2 * Size))]
    [InlineData(Part.Device, 4 + (8 * Size))]
    public void Without_event_idx_a_split_ring_may_end_where_its_event_field_would_begin(Part part, int bytesWithoutEventField)
    {
        using var memory = NewMemory(0x10000);
        var end = Base + 0x10000;

        var config = Layout(part, end - (ulong)bytesWithoutEventField);

        Assert.Equal(QueueError.None, Create(false, memory, config));
        Assert.Equal(QueueError.RingOutsideMemory, Create(false, memory, config with { EventIdx = true }));
    }
}
