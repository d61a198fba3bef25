using IoVirt.Memory;

namespace IoVirt.Tests.Memory;

public unsafe class MultiRegionTests
{
    private const ulong Base = 0x10_0000;
    private const ulong Size = 0x2000;
    private const ulong Boundary = Base + Size;

    /// <summary>Two adjacent regions [Base, Boundary) and [Boundary, Boundary + Size), then one after a gap.</summary>
    private static GuestMemory NewMemory() => new(
        GuestRegion.Allocate(Boundary, Size),
        GuestRegion.Allocate(Base, Size),
        GuestRegion.Allocate(Boundary + (3 * Size), Size));

    [Fact]
    public void Regions_are_kept_sorted_by_guest_address()
    {
        using var memory = NewMemory();

        Assert.Equal([Base, Boundary, Boundary + (3 * Size)], memory.Regions.ToArray().Select(r => r.GuestAddress));
    }

    [Fact]
    public void A_range_across_two_adjacent_regions_is_guest_memory_but_not_contiguous()
    {
        using var memory = NewMemory();

        Assert.Equal(MemoryFault.NotContiguous, memory.TryGetPointer(Boundary - 1, 2, out var host));
        Assert.True(host == null);
        Assert.Equal(MemoryFault.NotContiguous, memory.TryGetSpan(Boundary - 8, 16, out _));
        Assert.Equal(MemoryFault.None, memory.CheckRange(Boundary - 1, 2));
        Assert.Equal(MemoryFault.None, memory.CheckRange(Base, 2 * Size));
    }

    [Fact]
    public void Reads_and_writes_cross_adjacent_regions_byte_for_byte()
    {
        using var memory = NewMemory();
        var data = Enumerable.Range(1, 100).Select(i => (byte)i).ToArray();

        Assert.Equal(MemoryFault.None, memory.Write(Boundary - 40, data));

        var first = new Span<byte>(memory.Regions[0].Host + Size - 40, 40);
        var second = new Span<byte>(memory.Regions[1].Host, 60);
        Assert.True(first.SequenceEqual(data.AsSpan(0, 40)));
        Assert.True(second.SequenceEqual(data.AsSpan(40)));
        var back = new byte[100];
        Assert.Equal(MemoryFault.None, memory.Read(Boundary - 40, back));
        Assert.Equal(data, back);

        Assert.Equal(MemoryFault.None, memory.Write(Boundary - 3, 0x1122_3344_5566_7788UL));
        Assert.Equal(MemoryFault.None, memory.Read(Boundary - 3, out ulong value));
        Assert.Equal(0x1122_3344_5566_7788UL, value);
    }

    [Fact]
    public void Scatter_splits_a_range_at_each_region_boundary()
    {
        using var memory = NewMemory();
        Span<HostSegment> segments = stackalloc HostSegment[4];

        var count = memory.Scatter(Boundary - 0x100, 0x300, segments, out var fault);

        Assert.Equal(MemoryFault.None, fault);
        Assert.Equal(2, count);
        Assert.True(segments[0].Pointer == memory.Regions[0].Host + Size - 0x100);
        Assert.Equal(0x100, segments[0].Length);
        Assert.True(segments[1].Pointer == memory.Regions[1].Host);
        Assert.Equal(0x200, segments[1].Length);
    }

    [Fact]
    public void Scatter_with_too_few_segments_is_not_contiguous()
    {
        using var memory = NewMemory();
        Span<HostSegment> segments = stackalloc HostSegment[1];

        var count = memory.Scatter(Boundary - 0x100, 0x300, segments, out var fault);

        Assert.Equal(MemoryFault.NotContiguous, fault);
        Assert.Equal(1, count);
    }

    [Fact]
    public void A_range_reaching_into_a_gap_between_regions_is_out_of_range()
    {
        using var memory = NewMemory();
        var gapStart = Boundary + Size;
        Span<HostSegment> segments = stackalloc HostSegment[4];

        Assert.Equal(MemoryFault.OutOfRange, memory.TryGetPointer(gapStart - 1, 2, out _));
        Assert.Equal(MemoryFault.OutOfRange, memory.CheckRange(gapStart - 1, 2));
        Assert.Equal(MemoryFault.OutOfRange, memory.CheckRange(Base, 3 * Size));
        Assert.Equal(MemoryFault.OutOfRange, memory.Read(gapStart - 1, new byte[2]));
        Assert.Equal(MemoryFault.OutOfRange, memory.Write(gapStart - 1, new byte[2]));
        memory.Scatter(gapStart - 1, 2, segments, out var fault);
        Assert.Equal(MemoryFault.OutOfRange, fault);
        Assert.Equal(MemoryFault.OutOfRange, memory.TryGetPointer(gapStart + Size, 1, out _));
    }

    [Fact]
    public void Every_byte_of_many_regions_is_found_and_no_byte_between_them()
    {
        var regions = Enumerable.Range(0, 9).Select(i => GuestRegion.Allocate(Base + ((ulong)i * 3 * Size), Size)).ToArray();
        using var memory = new GuestMemory(regions.Reverse().ToArray());

        foreach (var region in regions)
        {
            Assert.Equal(MemoryFault.None, memory.TryGetPointer(region.GuestAddress, 1, out var first));
            Assert.True(first == region.Host);
            Assert.Equal(MemoryFault.None, memory.TryGetPointer(region.GuestEnd - 1, 1, out var last));
            Assert.True(last == region.Host + Size - 1);
            Assert.Equal(MemoryFault.OutOfRange, memory.TryGetPointer(region.GuestEnd, 1, out _));
            Assert.Equal(MemoryFault.OutOfRange, memory.TryGetPointer(region.GuestAddress - 1, 1, out _));
        }
    }

    [Theory]
    [InlineData(Base, Size, Base + Size - 1, Size)]
    [InlineData(Base + Size - 1, Size, Base, Size)]
    [InlineData(Base, Size, Base, 1UL)]
    [InlineData(Base, 4 * Size, Base + Size, Size)]
    public void Overlapping_regions_are_refused(ulong firstAddress, ulong firstSize, ulong secondAddress, ulong secondSize)
    {
        var first = GuestRegion.Allocate(firstAddress, firstSize);
        var second = GuestRegion.Allocate(secondAddress, secondSize);

        Assert.Throws<ArgumentException>(() => new GuestMemory(first, second));
    }

    [Fact]
    public void Regions_that_only_touch_are_accepted()
    {
        using var memory = new GuestMemory(GuestRegion.Allocate(Base, Size), GuestRegion.Allocate(Boundary, Size));

        Assert.Equal(2, memory.Regions.Length);
    }
}
