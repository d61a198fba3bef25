using System.Buffers.Binary;
using IoVirt.Hypervisor;
using IoVirt.Memory;

namespace IoVirt.Machine;

/// <summary>
/// What the 64-bit boot protocol asks of the CPU at the kernel's entry: long mode with paging
/// on an identity map of the low 4 GiB, a GDT with flat code at 0x10 and data at 0x18, RSI
/// pointing at the zero page and interrupts off.
/// </summary>
public static class LongModeBoot
{
    private const ushort CodeSelector = 0x10, DataSelector = 0x18, TssSelector = 0x20;
    private const ulong Cr0 = 0x8005_0033; // PE, MP, ET, NE, WP, AM, PG: what Linux itself runs with
    private const ulong Cr4Pae = 0x20;
    private const ulong EferLme = 0x100, EferLma = 0x400;
    private const ulong PagePresentWritable = 0x3, PageHuge = 0x80;
    private const uint MsrMiscEnable = 0x1a0, MsrMtrrDefType = 0x2ff;
    private const ulong MiscEnableFastStrings = 1, MtrrEnabledWriteBack = (1 << 11) | 6;

    /// <summary>The page tables and GDT, once per VM.</summary>
    public static void WriteTables(GuestMemory memory)
    {
        Span<byte> entry = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(entry, GuestLayout.PdptAddress | PagePresentWritable);
        LinuxLoader.Write(memory, GuestLayout.Pml4Address, entry);
        var directories = new byte[4 * 4096];
        for (var gib = 0; gib < 4; gib++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(entry, (GuestLayout.PageDirectoryAddress + ((ulong)gib * 4096)) | PagePresentWritable);
            LinuxLoader.Write(memory, GuestLayout.PdptAddress + ((ulong)gib * 8), entry);
            for (var i = 0; i < 512; i++)
            {
                var address = (((ulong)gib * 512) + (ulong)i) << 21;
                BinaryPrimitives.WriteUInt64LittleEndian(directories.AsSpan((gib * 4096) + (i * 8)), address | PagePresentWritable | PageHuge);
            }
        }

        LinuxLoader.Write(memory, GuestLayout.PageDirectoryAddress, directories);

        // Null, null, code (0x10), data (0x18), TSS (0x20): flat 4 GiB descriptors.
        var gdt = new byte[5 * 8];
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(CodeSelector), 0x00af_9b00_0000_ffff);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(DataSelector), 0x00cf_9300_0000_ffff);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(TssSelector), 0x008f_8b00_0000_ffff);
        LinuxLoader.Write(memory, GuestLayout.GdtAddress, gdt);
    }

    /// <summary>The bootstrap processor's registers at the kernel's 64-bit entry.</summary>
    public static void SetBootProcessor(IVcpu vcpu, ulong entry)
    {
        var special = vcpu.GetSpecialRegisters();
        var code = new X86Segment(0, 0xffff_ffff, CodeSelector, 0xb, true, 0, false, true, true, true);
        var data = new X86Segment(0, 0xffff_ffff, DataSelector, 0x3, true, 0, true, true, false, true);
        special.Cs = code;
        special.Ds = special.Es = special.Fs = special.Gs = special.Ss = data;
        special.Tr = new X86Segment(0, 0xffff_ffff, TssSelector, 0xb, true, 0, false, false, false, true);
        special.Gdt = new X86DescriptorTable(GuestLayout.GdtAddress, (5 * 8) - 1);
        special.Idt = new X86DescriptorTable(GuestLayout.IdtAddress, 0);
        special.Cr0 = Cr0;
        special.Cr3 = GuestLayout.Pml4Address;
        special.Cr4 = Cr4Pae;
        special.Efer = EferLme | EferLma;
        vcpu.SetSpecialRegisters(special);

        vcpu.SetRegisters(new X86Registers
        {
            Rip = entry,
            Rsi = GuestLayout.ZeroPageAddress,
            Rsp = GuestLayout.BootStackTop,
            Rbp = GuestLayout.BootStackTop,
            Rflags = 0x2,
        });
    }

    /// <summary>
    /// What every vCPU needs before it runs, BSP or not: firmware's FPU state, fast strings,
    /// and MTRRs that make RAM write-back (without them the guest runs uncached and crawls).
    /// </summary>
    public static void SetCommonState(IVcpu vcpu)
    {
        vcpu.SetFpuControl(0x37f, 0x1f80);
        vcpu.SetMsrs([(MsrMiscEnable, MiscEnableFastStrings), (MsrMtrrDefType, MtrrEnabledWriteBack)]);
        vcpu.SetLegacyLocalInterrupts();
    }
}
