using IoVirt.Memory;

namespace IoVirt.Tests.Memory;

public unsafe class GuestRegionMappingTests
{
    private const ulong Base = 0x10_0000;
    private const ulong Size = 0x3000;
    private const ulong Other = 0x8000_0000;
    private const ulong FrontEndAddress = 0x7f00_1234_0000;

    private static byte[] Pattern(int length, int seed) => Enumerable.Range(0, length).Select(i => unchecked((byte)((i * 31) + seed))).ToArray();

    [Fact]
    public void A_memfd_region_is_shared_with_a_second_mapping_of_its_file()
    {
        var memfd = GuestRegion.CreateMemfd(Base, Size);
        using var memory = new GuestMemory(memfd);
        Assert.NotNull(memfd.File);
        Assert.Equal(0UL, memfd.FileOffset);
        using var second = new GuestMemory(GuestRegion.MapFile(Other, Size, memfd.File, 0, FrontEndAddress));
        Assert.True(second.Regions[0].Host != memfd.Host);

        var written = Pattern(0x1800, 1);
        Assert.Equal(MemoryFault.None, memory.Write(Base + 0x1000, written));
        var read = new byte[written.Length];
        Assert.Equal(MemoryFault.None, second.Read(Other + 0x1000, read));
        Assert.Equal(written, read);

        Assert.Equal(MemoryFault.None, second.Write(Other + 0x2ff8, 0xabcd_ef01_2345_6789UL));
        Assert.Equal(MemoryFault.None, memory.Read(Base + 0x2ff8, out ulong value));
        Assert.Equal(0xabcd_ef01_2345_6789UL, value);
    }

    [Theory]
    [InlineData(123UL)]
    [InlineData(0x1000UL + 123)]
    [InlineData(0x1fffUL)]
    public void A_file_mapped_from_an_offset_off_the_page_boundary_starts_at_that_offset(ulong offset)
    {
        var memfd = GuestRegion.CreateMemfd(Base, Size);
        using var memory = new GuestMemory(memfd);
        var pattern = Pattern((int)Size, 7);
        Assert.Equal(MemoryFault.None, memory.Write(Base, pattern));

        var length = Size - offset;
        var mapped = GuestRegion.MapFile(Other, length, memfd.File!, offset, FrontEndAddress);
        using var second = new GuestMemory(mapped);

        Assert.Equal(offset, mapped.FileOffset);
        Assert.Equal(length, mapped.Size);
        Assert.Null(mapped.File);
        var read = new byte[length];
        Assert.Equal(MemoryFault.None, second.Read(Other, read));
        Assert.Equal(pattern.AsSpan((int)offset).ToArray(), read);
        Assert.Equal(MemoryFault.OutOfRange, second.CheckRange(Other + length, 1));
    }

    [Fact]
    public void A_mapping_stays_valid_after_the_file_it_came_from_is_closed()
    {
        var memfd = GuestRegion.CreateMemfd(Base, Size);
        var memory = new GuestMemory(memfd);
        var pattern = Pattern(64, 3);
        Assert.Equal(MemoryFault.None, memory.Write(Base + 0x2000, pattern));
        using var second = new GuestMemory(GuestRegion.MapFile(Other, Size, memfd.File!, 0, FrontEndAddress));

        memory.Dispose();

        Assert.True(memfd.File!.IsClosed);
        var read = new byte[64];
        Assert.Equal(MemoryFault.None, second.Read(Other + 0x2000, read));
        Assert.Equal(pattern, read);
    }

    [Fact]
    public void A_read_only_file_mapping_reads_the_file()
    {
        var memfd = GuestRegion.CreateMemfd(Base, Size);
        using var memory = new GuestMemory(memfd);
        Assert.Equal(MemoryFault.None, memory.Write(Base + 8, 0x55aa_55aau));

        using var readOnly = new GuestMemory(GuestRegion.MapFile(Other, Size, memfd.File!, 0, FrontEndAddress, writable: false));

        Assert.Equal(MemoryFault.None, readOnly.Read(Other + 8, out uint value));
        Assert.Equal(0x55aa_55aau, value);
    }

    [Fact]
    public void Anonymous_shared_memory_starts_zeroed_and_keeps_what_is_written()
    {
        var region = GuestRegion.CreateAnonymousShared(Base, Size);
        using var memory = new GuestMemory(region);

        Assert.True(new Span<byte>(region.Host, (int)Size).IndexOfAnyExcept((byte)0) < 0);
        Assert.Null(region.File);
        Assert.Equal((ulong)region.Host, region.UserAddress);
        var pattern = Pattern((int)Size, 9);
        Assert.Equal(MemoryFault.None, memory.Write(Base, pattern));
        Assert.True(new Span<byte>(region.Host, (int)Size).SequenceEqual(pattern));
    }

    [Fact]
    public void Allocated_memory_starts_zeroed_and_page_aligned()
    {
        var region = GuestRegion.Allocate(Base, Size);
        using var memory = new GuestMemory(region);

        Assert.Equal(0UL, (ulong)region.Host % (ulong)Environment.SystemPageSize);
        Assert.True(new Span<byte>(region.Host, (int)Size).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(Base + Size, region.GuestEnd);
    }

    [Theory]
    [InlineData(Base, 0UL)]
    [InlineData(ulong.MaxValue - 10, 100UL)]
    [InlineData(ulong.MaxValue, 1UL)]
    public void A_region_that_is_empty_or_ends_past_2_to_the_64_is_refused(ulong address, ulong size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => GuestRegion.Allocate(address, size));
        Assert.Throws<ArgumentOutOfRangeException>(() => GuestRegion.CreateMemfd(address, size));
        Assert.Throws<ArgumentOutOfRangeException>(() => GuestRegion.CreateAnonymousShared(address, size));
    }

    [Fact]
    public unsafe void A_front_end_address_translates_to_the_guest_address_of_the_same_byte()
    {
        var memfd = GuestRegion.CreateMemfd(Base, Size);
        using var owner = new GuestMemory(memfd);
        var offset = 0x100UL;
        var mapped = GuestRegion.MapFile(Other, Size - offset, memfd.File!, offset, FrontEndAddress);
        using var memory = new GuestMemory(GuestRegion.Allocate(Base, Size), mapped);

        Assert.True(memory.TryUserToGuest(FrontEndAddress, out var guest));
        Assert.Equal(Other, guest);
        Assert.True(memory.TryUserToGuest(FrontEndAddress + mapped.Size - 1, out guest));
        Assert.Equal(Other + mapped.Size - 1, guest);
        Assert.False(memory.TryUserToGuest(FrontEndAddress + mapped.Size, out _));
        Assert.False(memory.TryUserToGuest(FrontEndAddress - 1, out _));

        // A region this process created sits at its own host address in the front end's space.
        var own = (ulong)memory.Regions[0].Host;
        Assert.Equal(own, memory.Regions[0].UserAddress);
        Assert.True(memory.TryUserToGuest(own + 5, out guest));
        Assert.Equal(Base + 5, guest);
        Assert.False(memory.TryUserToGuest(own + Size, out _));
    }
}
