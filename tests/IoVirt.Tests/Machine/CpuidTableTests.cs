using IoVirt.Hypervisor;
using IoVirt.Machine;

namespace IoVirt.Tests.Machine;

public sealed class CpuidTableTests
{
    [Fact]
    public void Each_vcpu_gets_its_apic_id_the_count_and_the_hypervisor_bit()
    {
        CpuidEntry[] supported = [new(1, 0, false, 0x800f12, 0x0000_0800, 0, 0), new(0xb, 1, true, 1, 2, 0x201, 0)];
        var table = CpuidTable.For(supported, apicId: 3, vcpuCount: 4);
        Assert.Equal(0x0304_0800u, table[0].Ebx);
        Assert.NotEqual(0u, table[0].Ecx & (1u << 31));
        Assert.Equal(3u, table[1].Edx);
    }

    [Fact]
    public void Xcr0_starts_with_every_component_leaf_0xd_offers()
    {
        CpuidEntry[] offered = [new(1, 0, false, 0, 0, 1u << 26, 0), new(0xd, 1, true, 0x5, 0, 0, 0), new(0xd, 0, true, 0x207, 0x240, 0xa88, 0x1)];
        Assert.Equal(0x1_0000_0207UL, CpuidTable.InitialXcr0(offered));
        Assert.Equal(1UL, CpuidTable.InitialXcr0([new(1, 0, false, 0, 0, 0, 0)]));
    }
}
