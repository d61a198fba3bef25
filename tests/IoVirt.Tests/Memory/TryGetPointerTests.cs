using IoVirt.Memory;

namespace IoVirt.Tests.Memory;

/// <summary>The faults and host addresses of the one-region translation, at every kind of edge.</summary>
public unsafe class TryGetPointerTests
{
    private const ulong A = 0x10_0000;
    private const ulong B = A + 0x2000; // adjacent to A
    private const ulong C = 0x40_0000; // after a gap
    private const ulong High = 0xFFFF_FFFF_FFFF_E000;

    [Theory]
    [InlineData(A, 1, MemoryFault.None)]
    [InlineData(A, 0x2000, MemoryFault.None)]
    [InlineData(A + 0x1fff, 1, MemoryFault.None)]
    [InlineData(B + 0xfff, 1, MemoryFault.None)]
    [InlineData(High + 0xfff, 1, MemoryFault.None)]
    [InlineData(A - 1, 1, MemoryFault.OutOfRange)]
    [InlineData(A - 1, 2, MemoryFault.OutOfRange)]
    [InlineData(0UL, 1, MemoryFault.OutOfRange)]
    [InlineData(B + 0x1000, 1, MemoryFault.OutOfRange)]
    [InlineData(C + 0xfff, 2, MemoryFault.OutOfRange)]
    [InlineData(A + 0x1fff, 2, MemoryFault.NotContiguous)]
    [InlineData(A, 0x3000, MemoryFault.NotContiguous)]
    [InlineData(A, 0x3001, MemoryFault.OutOfRange)]
    [InlineData(High + 0xfff, 2, MemoryFault.OutOfRange)]
    [InlineData(High, ulong.MaxValue, MemoryFault.Overflow)]
    [InlineData(ulong.MaxValue, 1, MemoryFault.Overflow)] // the end, 2^64, does not fit
    [InlineData(ulong.MaxValue, 2, MemoryFault.Overflow)]
    [InlineData(0x1234UL, 0, MemoryFault.None)]
    public void Translation_faults_match_the_memory_map(ulong address, ulong length, MemoryFault expected)
    {
        using var memory = new GuestMemory(
            GuestRegion.Allocate(C, 0x1000),
            GuestRegion.Allocate(A, 0x2000),
            GuestRegion.Allocate(B, 0x1000),
            GuestRegion.Allocate(High, 0x1000));

        var fault = memory.TryGetPointer(address, length, out var host);

        Assert.Equal(expected, fault);
        if (fault != MemoryFault.None || length == 0)
        {
            Assert.True(host == null);
            return;
        }

        var region = memory.Regions.ToArray().Single(r => address >= r.GuestAddress && address < r.GuestEnd);
        Assert.True(host == region.Host + (address - region.GuestAddress));
    }
}
