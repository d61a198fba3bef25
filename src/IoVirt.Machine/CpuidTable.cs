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

    /// <summary>
    /// The XCR0 a vCPU starts with: every state component the table offers (leaf 0xD, subleaf
    /// 0: EDX:EAX), which is what Linux enables; 1 (x87 only, the reset value) without XSAVE.
    /// </summary>
    public static ulong InitialXcr0(IReadOnlyList<CpuidEntry> entries)
    {
        foreach (var entry in entries)
        {
            if (entry.Function == 0xd && entry.Index == 0)
            {
                return ((ulong)entry.Edx << 32) | entry.Eax | 1;
            }
        }

        return 1;
    }
}
