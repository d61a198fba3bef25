namespace IoVirt.Hypervisor;

/// <summary>The x86-64 general-purpose registers, RIP and RFLAGS.</summary>
public record struct X86Registers
{
    public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp;
    public ulong R8, R9, R10, R11, R12, R13, R14, R15;
    public ulong Rip, Rflags;
}

/// <summary>A segment register as the CPU caches it: base, limit, selector and descriptor attributes.</summary>
public record struct X86Segment(ulong Base, uint Limit, ushort Selector, byte Type, bool Present, byte Dpl, bool DefaultBig, bool CodeOrData, bool Long, bool Granular)
{
    /// <summary>An unusable (null) segment.</summary>
    public static X86Segment Unusable => default;
}

/// <summary>The GDTR or IDTR.</summary>
public record struct X86DescriptorTable(ulong Base, ushort Limit);

/// <summary>Segment registers, descriptor tables, control registers and EFER.</summary>
public record struct X86SpecialRegisters
{
    public X86Segment Cs, Ds, Es, Fs, Gs, Ss, Tr, Ldt;
    public X86DescriptorTable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8, Efer, ApicBase;
}

/// <summary>What CPUID returns for one leaf (<see cref="Function"/>) and subleaf (<see cref="Index"/>).</summary>
public record struct CpuidEntry(uint Function, uint Index, bool IndexMatters, uint Eax, uint Ebx, uint Ecx, uint Edx);
