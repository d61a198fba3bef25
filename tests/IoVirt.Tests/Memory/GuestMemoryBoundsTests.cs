using IoVirt.Memory;

namespace IoVirt.Tests.Memory;

public unsafe class GuestMemoryBoundsTests
{
    private const ulong Base = 0x10_0000;
    private const ulong Size = 0x4000;

    private static GuestMemory NewMemory() => new(GuestRegion.Allocate(Base, Size));

    // Offsets are relative to the region's first byte: -1 is just below it, Size just past it.
    public static TheoryData<long, int, MemoryFault> Edges => new()
    {
        { 0, 1, MemoryFault.None },
        { (long)Size - 1, 1, MemoryFault.None },
        { 0, (int)Size, MemoryFault.None },
        { (long)Size, 1, MemoryFault.OutOfRange },
        { -1, 1, MemoryFault.OutOfRange },
        { (long)Size - 1, 2, MemoryFault.OutOfRange },
        { -1, 2, MemoryFault.OutOfRange },
        { 0, (int)Size + 1, MemoryFault.OutOfRange },
    };

    private static ulong At(long offset) => (ulong)((long)Base + offset);

    [Theory]
    [MemberData(nameof(Edges))]
    public void TryGetPointer_accepts_exactly_the_bytes_of_the_region(long offset, int length, MemoryFault expected)
    {
        using var memory = NewMemory();

        var fault = memory.TryGetPointer(At(offset), (ulong)length, out var host);

        Assert.Equal(expected, fault);
        Assert.True(expected == MemoryFault.None ? host == memory.Regions[0].Host + offset : host == null);
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public void TryGetSpan_accepts_exactly_the_bytes_of_the_region(long offset, int length, MemoryFault expected)
    {
        using var memory = NewMemory();

        var fault = memory.TryGetSpan(At(offset), length, out var span);

        Assert.Equal(expected, fault);
        Assert.Equal(expected == MemoryFault.None ? length : 0, span.Length);
        if (expected == MemoryFault.None)
        {
            fixed (byte* p = span)
            {
                Assert.True(p == memory.Regions[0].Host + offset);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public void CheckRange_accepts_exactly_the_bytes_of_the_region(long offset, int length, MemoryFault expected)
    {
        using var memory = NewMemory();

        Assert.Equal(expected, memory.CheckRange(At(offset), (ulong)length));
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public void Scatter_accepts_exactly_the_bytes_of_the_region(long offset, int length, MemoryFault expected)
    {
        using var memory = NewMemory();
        Span<HostSegment> segments = stackalloc HostSegment[2];

        var count = memory.Scatter(At(offset), (ulong)length, segments, out var fault);

        Assert.Equal(expected, fault);
        if (expected == MemoryFault.None)
        {
            Assert.Equal(1, count);
            Assert.True(segments[0].Pointer == memory.Regions[0].Host + offset);
            Assert.Equal(length, segments[0].Length);
        }
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public void Write_then_Read_accept_exactly_the_bytes_of_the_region_and_a_refused_write_changes_nothing(long offset, int length, MemoryFault expected)
    {
        using var memory = NewMemory();
        var host = new Span<byte>(memory.Regions[0].Host, (int)Size);
        host.Fill(0x5a);
        var data = Enumerable.Range(0, length).Select(i => unchecked((byte)(i * 7))).ToArray();

        Assert.Equal(expected, memory.Write(At(offset), data));
        var back = new byte[length];
        Assert.Equal(expected, memory.Read(At(offset), back));

        if (expected == MemoryFault.None)
        {
            Assert.Equal(data, back);
            Assert.True(host.Slice((int)offset, length).SequenceEqual(data));
        }
        else
        {
            Assert.True(host.IndexOfAnyExcept((byte)0x5a) < 0);
        }
    }

    [Theory]
    [InlineData(0L, MemoryFault.None)]
    [InlineData((long)Size - 8, MemoryFault.None)]
    [InlineData((long)Size - 7, MemoryFault.OutOfRange)]
    [InlineData((long)Size, MemoryFault.OutOfRange)]
    [InlineData(-1L, MemoryFault.OutOfRange)]
    public void Typed_reads_and_writes_accept_exactly_the_bytes_of_the_region(long offset, MemoryFault expected)
    {
        using var memory = NewMemory();

        Assert.Equal(expected, memory.Write(At(offset), 0x0102_0304_0506_0708UL));
        Assert.Equal(expected, memory.Read(At(offset), out ulong value));

        Assert.Equal(expected == MemoryFault.None ? 0x0102_0304_0506_0708UL : 0, value);
    }

    [Fact]
    public void Typed_values_keep_their_byte_order_in_guest_memory()
    {
        using var memory = NewMemory();

        Assert.Equal(MemoryFault.None, memory.Write(Base + 3, 0x1122_3344u));
        var bytes = new byte[4];
        Assert.Equal(MemoryFault.None, memory.Read(Base + 3, bytes));

        Assert.Equal(BitConverter.GetBytes(0x1122_3344u), bytes);
    }

    [Fact]
    public void A_typed_read_into_a_heap_object_field_lands_in_the_field()
    {
        using var memory = NewMemory();
        Assert.Equal(MemoryFault.None, memory.Write(Base + 16, 0xfeed_beefu));
        var holder = new uint[3];

        Assert.Equal(MemoryFault.None, memory.Read(Base + 16, out holder[1]));

        Assert.Equal([0u, 0xfeed_beefu, 0u], holder);
    }

    [Theory]
    [InlineData(ulong.MaxValue - 10, 100UL)]
    [InlineData(ulong.MaxValue, 1UL)]
    [InlineData(Base, ulong.MaxValue)]
    [InlineData(Base + Size - 1, ulong.MaxValue - Base)]
    public void A_range_whose_end_does_not_fit_in_64_bits_is_an_overflow(ulong address, ulong length)
    {
        using var memory = NewMemory();

        Assert.Equal(MemoryFault.Overflow, memory.TryGetPointer(address, length, out var host));
        Assert.True(host == null);
        Assert.Equal(MemoryFault.Overflow, memory.CheckRange(address, length));
    }

    [Fact]
    public void Copies_and_scatter_near_the_top_of_the_address_space_are_an_overflow()
    {
        using var memory = NewMemory();
        var address = ulong.MaxValue - 10;
        Span<HostSegment> segments = stackalloc HostSegment[2];

        Assert.Equal(MemoryFault.Overflow, memory.TryGetSpan(address, 100, out _));
        Assert.Equal(0, memory.Scatter(address, 100, segments, out var fault));
        Assert.Equal(MemoryFault.Overflow, fault);
        Assert.Equal(MemoryFault.Overflow, memory.Read(address, new byte[100]));
        Assert.Equal(MemoryFault.Overflow, memory.Write(address, new byte[100]));
        Assert.Equal(MemoryFault.Overflow, memory.Read(ulong.MaxValue - 3, out ulong _));
        Assert.Equal(MemoryFault.Overflow, memory.Write(ulong.MaxValue - 3, 1UL));

        // A range that starts inside the region but whose end passes 2^64 is an overflow too,
        // though its first piece alone would fit.
        Assert.Equal(0, memory.Scatter(At(0), ulong.MaxValue, segments, out fault));
        Assert.Equal(MemoryFault.Overflow, fault);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(Base + Size)]
    [InlineData(ulong.MaxValue)]
    public void An_empty_range_is_valid_at_any_address(ulong address)
    {
        using var memory = NewMemory();
        Span<HostSegment> segments = stackalloc HostSegment[1];

        Assert.Equal(MemoryFault.None, memory.TryGetPointer(address, 0, out var host));
        Assert.True(host == null);
        Assert.Equal(MemoryFault.None, memory.TryGetSpan(address, 0, out var span));
        Assert.True(span.IsEmpty);
        Assert.Equal(MemoryFault.None, memory.CheckRange(address, 0));
        Assert.Equal(0, memory.Scatter(address, 0, segments, out var fault));
        Assert.Equal(MemoryFault.None, fault);
        Assert.Equal(MemoryFault.None, memory.Read(address, []));
        Assert.Equal(MemoryFault.None, memory.Write(address, []));
    }

    [Fact]
    public void A_negative_span_length_is_a_caller_error()
    {
        using var memory = NewMemory();

        Assert.Throws<ArgumentOutOfRangeException>(() => memory.TryGetSpan(Base, -1, out _));
    }
}
