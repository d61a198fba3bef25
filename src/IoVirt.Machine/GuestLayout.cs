using IoVirt.Abi.X86;

namespace IoVirt.Machine;

/// <summary>
/// Where things live in the guest-physical address space of our PC: RAM below the PCI hole
/// (3 GiB) and the rest from 4 GiB, the boot structures in low memory, ACPI tables in the
/// BIOS area, and the interrupt controllers at their architectural addresses.
/// </summary>
public sealed class GuestLayout
{
    public const ulong GdtAddress = 0x500;
    public const ulong IdtAddress = 0x520;
    public const ulong ZeroPageAddress = 0x7000;
    public const ulong BootStackTop = 0x8ff0;
    public const ulong Pml4Address = 0x9000;
    public const ulong PdptAddress = 0xa000;
    /// <summary>Four page directories of 2 MiB pages identity-map the first 4 GiB.</summary>
    public const ulong PageDirectoryAddress = 0xb000;
    public const ulong CommandLineAddress = 0x20000;
    public const ulong CommandLineMax = 0x10000;
    /// <summary>Conventional memory ends where the extended BIOS data area would start.</summary>
    public const ulong ConventionalEnd = 0x9fc00;
    public const ulong AcpiAddress = 0xe0000;
    public const ulong BiosEnd = 0x100000;
    public const ulong PciHoleStart = 0xc000_0000;
    public const ulong PciHoleEnd = 0x1_0000_0000;
    public const ulong IoApicAddress = 0xfec0_0000;
    public const ulong LocalApicAddress = 0xfee0_0000;
    /// <summary>KVM's TSS and identity-map pages (VMX needs them), reserved in the map.</summary>
    public const ulong HypervisorPagesStart = 0xfffb_c000, HypervisorPagesEnd = 0xfffc_0000;

    /// <summary>The least RAM the layout fits: the boot structures, the kernel at 16 MiB and some room.</summary>
    public const ulong MinimumMemory = 64UL << 20;

    public GuestLayout(ulong memorySize)
    {
        if (memorySize < MinimumMemory || memorySize % (2UL << 20) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(memorySize), $"guest memory must be a multiple of 2 MiB and at least {MinimumMemory >> 20} MiB");
        }

        MemorySize = memorySize;
        LowMemoryEnd = Math.Min(memorySize, PciHoleStart);
        HighMemorySize = memorySize - LowMemoryEnd;
    }

    public ulong MemorySize { get; }

    /// <summary>RAM runs from 0 to here.</summary>
    public ulong LowMemoryEnd { get; }

    /// <summary>RAM from 4 GiB, 0 when everything fits below the PCI hole.</summary>
    public ulong HighMemorySize { get; }

    /// <summary>The RAM regions, as (guest address, size).</summary>
    public IEnumerable<(ulong Address, ulong Size)> RamRegions
    {
        get
        {
            yield return (0, LowMemoryEnd);
            if (HighMemorySize > 0)
            {
                yield return (PciHoleEnd, HighMemorySize);
            }
        }
    }

    /// <summary>The e820 map the guest is given.</summary>
    public IReadOnlyList<E820Entry> MemoryMap
    {
        get
        {
            var map = new List<E820Entry>
            {
                new() { Address = 0, Length = ConventionalEnd, Type = E820Type.Ram },
                new() { Address = AcpiAddress, Length = BiosEnd - AcpiAddress, Type = E820Type.Reserved },
                new() { Address = BiosEnd, Length = LowMemoryEnd - BiosEnd, Type = E820Type.Ram },
                new() { Address = HypervisorPagesStart, Length = HypervisorPagesEnd - HypervisorPagesStart, Type = E820Type.Reserved },
            };
            if (HighMemorySize > 0)
            {
                map.Add(new() { Address = PciHoleEnd, Length = HighMemorySize, Type = E820Type.Ram });
            }

            return map;
        }
    }
}
