using System.Buffers.Binary;
using IoVirt.Hypervisor;
using IoVirt.Machine;
using IoVirt.Memory;

namespace IoVirt.Tests.Machine;

public sealed class LongModeBootTests
{
    [Theory]
    [InlineData(0UL)]
    [InlineData(0x100_0200UL)]
    [InlineData(0xbfff_f000UL)]
    [InlineData(0xffff_ffffUL)]
    public void Page_tables_map_the_low_4_gib_onto_itself(ulong address)
    {
        using var memory = new GuestMemory(GuestRegion.Allocate(0, 64UL << 20));
        LongModeBoot.WriteTables(memory);
        var pml4e = Entry(memory, GuestLayout.Pml4Address, (address >> 39) & 511);
        var pdpte = Entry(memory, pml4e & ~0xfffUL, (address >> 30) & 511);
        var pde = Entry(memory, pdpte & ~0xfffUL, (address >> 21) & 511);
        Assert.Equal(0x83UL, pde & 0x83); // present, writable, 2 MiB page
        Assert.Equal(address, (pde & ~0x1f_ffffUL & 0x000f_ffff_ffff_f000UL) | (address & 0x1f_ffff));
    }

    [Fact]
    public void Gdt_has_flat_long_mode_code_at_0x10_and_data_at_0x18()
    {
        using var memory = new GuestMemory(GuestRegion.Allocate(0, 64UL << 20));
        LongModeBoot.WriteTables(memory);
        var code = Entry(memory, GuestLayout.GdtAddress, 2);
        var data = Entry(memory, GuestLayout.GdtAddress, 3);
        Assert.Equal(1UL, (code >> 53) & 1); // L
        Assert.Equal(0x9bUL, (code >> 40) & 0xff); // present, code, execute/read
        Assert.Equal(0x93UL, (data >> 40) & 0xff); // present, data, read/write
    }

    [Fact]
    public void Every_vcpu_gets_its_apic_id_in_cpuid_and_sees_a_hypervisor()
    {
        CpuidEntry[] supported = [new(1, 0, false, 0x806f8, 0x0000_0800, 0, 0), new(0xb, 1, true, 0, 0, 0, 0), new(0x8000_0001, 0, false, 1, 2, 3, 4)];
        var table = CpuidTable.For(supported, 3, 4);
        Assert.Equal(3u, table[0].Ebx >> 24);
        Assert.Equal(4u, (table[0].Ebx >> 16) & 0xff);
        Assert.Equal(0x0800u, table[0].Ebx & 0xffff);
        Assert.NotEqual(0u, table[0].Ecx & (1u << 31));
        Assert.Equal(3u, table[1].Edx);
        Assert.Equal(supported[2], table[2]);
    }

    [Fact]
    public void Default_gsi_routes_send_the_pit_to_ioapic_pin_2_and_keep_the_cascade_free()
    {
        var routes = GsiRoute.DefaultIrqchipRoutes;
        Assert.Equal(2u, Assert.Single(routes, r => r.Gsi == 0 && r.Chip == 2).Pin);
        Assert.DoesNotContain(routes, r => r.Gsi == 2);
        Assert.Equal(15, routes.Count(r => r.Chip is 0 or 1));
        Assert.Equal(23, routes.Count(r => r.Chip == 2));
        Assert.All(routes, r => Assert.True(r.Gsi < GsiRoute.FirstMsiGsi));
    }

    private static ulong Entry(GuestMemory memory, ulong table, ulong index)
    {
        var bytes = new byte[8];
        Assert.Equal(MemoryFault.None, memory.Read(table + (index * 8), bytes));
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }
}
