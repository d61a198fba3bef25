using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IoVirt.Abi.X86;

namespace IoVirt.Tests.Abi;

/// <summary>The zero page's offsets and the e820 entry (IoVirt.Abi.X86) against &lt;asm/bootparam.h&gt;.</summary>
[Collection(CHeaderCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class X86BootAbiTests(CHeaderProbe probe)
{
    [Fact]
    public void Zero_page_offsets_match_the_header()
    {
        CHeaderAssert.Struct(probe, "boot_params", BootParams.Size,
            ("acpi_rsdp_addr", BootParams.AcpiRsdpAddr), ("ext_ramdisk_image", BootParams.ExtRamdiskImage),
            ("ext_ramdisk_size", BootParams.ExtRamdiskSize), ("ext_cmd_line_ptr", BootParams.ExtCmdLinePtr),
            ("e820_entries", BootParams.E820Entries), ("e820_table", BootParams.E820Table), ("hdr", BootParams.SetupHeader),
            ("hdr.setup_sects", BootParams.SetupSects), ("hdr.boot_flag", BootParams.BootFlag),
            ("hdr.jump", BootParams.JumpLength - 1), ("hdr.header", BootParams.Header), ("hdr.version", BootParams.Version),
            ("hdr.type_of_loader", BootParams.TypeOfLoader), ("hdr.loadflags", BootParams.LoadFlags),
            ("hdr.code32_start", BootParams.Code32Start), ("hdr.ramdisk_image", BootParams.RamdiskImage),
            ("hdr.ramdisk_size", BootParams.RamdiskSize), ("hdr.heap_end_ptr", BootParams.HeapEndPtr),
            ("hdr.cmd_line_ptr", BootParams.CmdLinePtr), ("hdr.initrd_addr_max", BootParams.InitrdAddrMax),
            ("hdr.kernel_alignment", BootParams.KernelAlignment), ("hdr.relocatable_kernel", BootParams.RelocatableKernel),
            ("hdr.xloadflags", BootParams.XLoadFlags), ("hdr.cmdline_size", BootParams.CmdlineSize),
            ("hdr.pref_address", BootParams.PrefAddress), ("hdr.init_size", BootParams.InitSize));
        Assert.Equal((ulong)BootParams.E820MaxEntries, probe.Value("E820_MAX_ENTRIES_ZEROPAGE"));
        Assert.Equal((ulong)BootParams.LoadedHigh, probe.Value("LOADED_HIGH"));
        Assert.Equal((ulong)BootParams.CanUseHeap, probe.Value("CAN_USE_HEAP"));
        Assert.Equal((ulong)BootParams.XlfKernel64, probe.Value("XLF_KERNEL_64"));
    }

    [Fact]
    public void E820_entry_matches_the_header() =>
        CHeaderAssert.Struct(probe, "boot_e820_entry", Unsafe.SizeOf<E820Entry>(),
            ("addr", (int)Marshal.OffsetOf<E820Entry>("Address")), ("size", (int)Marshal.OffsetOf<E820Entry>("Length")),
            ("type", (int)Marshal.OffsetOf<E820Entry>("Type")));
}
