using IoVirt.Abi.X86;
using IoVirt.Machine;

namespace IoVirt.Tests.Machine;

public sealed class GuestLayoutTests
{
    [Fact]
    public void Memory_below_the_pci_hole_is_one_region()
    {
        var layout = new GuestLayout(512UL << 20);
        Assert.Equal([(0UL, 512UL << 20)], layout.RamRegions);
        Assert.DoesNotContain(layout.MemoryMap, e => e.Address >= GuestLayout.PciHoleEnd);
    }

    [Fact]
    public void Memory_past_the_pci_hole_continues_at_4_gib()
    {
        var layout = new GuestLayout(4UL << 30);
        Assert.Equal([(0UL, 3UL << 30), (4UL << 30, 1UL << 30)], layout.RamRegions);
        var ram = layout.MemoryMap.Where(e => e.Type == E820Type.Ram).Sum(e => (decimal)e.Length);
        Assert.Equal((4UL << 30) - (GuestLayout.BiosEnd - GuestLayout.ConventionalEnd), ram);
    }

    [Theory]
    [InlineData(64UL << 20)]
    [InlineData(3UL << 30)]
    [InlineData(6UL << 30)]
    public void The_memory_map_is_sorted_disjoint_and_keeps_the_boot_structures_in_ram(ulong size)
    {
        var map = new GuestLayout(size).MemoryMap;
        for (var i = 1; i < map.Count; i++)
        {
            Assert.True(map[i - 1].Address + map[i - 1].Length <= map[i].Address, $"entries {i - 1} and {i} overlap or are out of order");
        }

        Assert.Contains(map, e => e.Type == E820Type.Ram && e.Address <= GuestLayout.GdtAddress && GuestLayout.CommandLineAddress + GuestLayout.CommandLineMax <= e.Address + e.Length);
        Assert.Contains(map, e => e.Type == E820Type.Reserved && e.Address == GuestLayout.AcpiAddress);
    }

    [Theory]
    [InlineData(32UL << 20)]
    [InlineData((512UL << 20) + 4096)]
    public void Too_little_or_unaligned_memory_is_refused(ulong size) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new GuestLayout(size));
}
