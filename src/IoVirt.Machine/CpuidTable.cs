using IoVirt.Hypervisor;

namespace IoVirt.Machine;

/// <summary>Each vCPU's CPUID: what the hypervisor supports, with that vCPU's APIC ID and the hypervisor bit.</summary>
public static class CpuidTable
{
    private const uint HypervisorPresent = 1u << 31;

    public static IReadOnlyList<CpuidEntry> For(IReadOnlyList<CpuidEntry> supported, int apicId, int vcpuCount)
    {
        var entries = new CpuidEntry[supported.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = supported[i];
            switch (entry.Function)
            {
                case 1:
                    // EBX: initial APIC ID in bits 31-24, logical processors per package in 23-16.
                    entry.Ebx = (entry.Ebx & 0x0000_ffff) | ((uint)apicId << 24) | ((uint)Math.Min(vcpuCount, 255) << 16);
                    entry.Ecx |= HypervisorPresent;
                    break;
                case 0xb or 0x1f:
                    // Extended topology: EDX is the x2APIC ID at every level.
                    entry.Edx = (uint)apicId;
                    break;
            }

            entries[i] = entry;
        }

        return entries;
    }
}
