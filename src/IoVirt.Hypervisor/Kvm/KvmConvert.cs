using IoVirt.Abi.Kvm;

namespace IoVirt.Hypervisor.Kvm;

/// <summary>Between the hypervisor-neutral register types and KVM's structures.</summary>
internal static class KvmConvert
{
    /// <summary>KVM_CPUID_FLAG_SIGNIFCANT_INDEX.</summary>
    private const uint SignificantIndex = 1;

    public static CpuidEntry ToCpuid(in KvmCpuidEntry2 e) =>
        new(e.Function, e.Index, (e.Flags & SignificantIndex) != 0, e.Eax, e.Ebx, e.Ecx, e.Edx);

    public static KvmCpuidEntry2 FromCpuid(in CpuidEntry e) => new()
    {
        Function = e.Function, Index = e.Index, Flags = e.IndexMatters ? SignificantIndex : 0,
        Eax = e.Eax, Ebx = e.Ebx, Ecx = e.Ecx, Edx = e.Edx,
    };

    public static X86Registers ToRegisters(in KvmRegs r) => new()
    {
        Rax = r.Rax, Rbx = r.Rbx, Rcx = r.Rcx, Rdx = r.Rdx, Rsi = r.Rsi, Rdi = r.Rdi, Rsp = r.Rsp, Rbp = r.Rbp,
        R8 = r.R8, R9 = r.R9, R10 = r.R10, R11 = r.R11, R12 = r.R12, R13 = r.R13, R14 = r.R14, R15 = r.R15,
        Rip = r.Rip, Rflags = r.Rflags,
    };

    public static KvmRegs FromRegisters(in X86Registers r) => new()
    {
        Rax = r.Rax, Rbx = r.Rbx, Rcx = r.Rcx, Rdx = r.Rdx, Rsi = r.Rsi, Rdi = r.Rdi, Rsp = r.Rsp, Rbp = r.Rbp,
        R8 = r.R8, R9 = r.R9, R10 = r.R10, R11 = r.R11, R12 = r.R12, R13 = r.R13, R14 = r.R14, R15 = r.R15,
        Rip = r.Rip, Rflags = r.Rflags,
    };

    public static X86SpecialRegisters ToSpecial(in KvmSregs s) => new()
    {
        Cs = ToSegment(s.Cs), Ds = ToSegment(s.Ds), Es = ToSegment(s.Es), Fs = ToSegment(s.Fs), Gs = ToSegment(s.Gs),
        Ss = ToSegment(s.Ss), Tr = ToSegment(s.Tr), Ldt = ToSegment(s.Ldt),
        Gdt = new(s.Gdt.Base, s.Gdt.Limit), Idt = new(s.Idt.Base, s.Idt.Limit),
        Cr0 = s.Cr0, Cr2 = s.Cr2, Cr3 = s.Cr3, Cr4 = s.Cr4, Cr8 = s.Cr8, Efer = s.Efer, ApicBase = s.ApicBase,
    };

    /// <summary>Onto <paramref name="s"/> as read from KVM, so what the neutral type lacks (pending interrupts) is kept.</summary>
    public static void FromSpecial(in X86SpecialRegisters r, ref KvmSregs s)
    {
        s.Cs = FromSegment(r.Cs);
        s.Ds = FromSegment(r.Ds);
        s.Es = FromSegment(r.Es);
        s.Fs = FromSegment(r.Fs);
        s.Gs = FromSegment(r.Gs);
        s.Ss = FromSegment(r.Ss);
        s.Tr = FromSegment(r.Tr);
        s.Ldt = FromSegment(r.Ldt);
        s.Gdt = new KvmDtable { Base = r.Gdt.Base, Limit = r.Gdt.Limit };
        s.Idt = new KvmDtable { Base = r.Idt.Base, Limit = r.Idt.Limit };
        (s.Cr0, s.Cr2, s.Cr3, s.Cr4, s.Cr8, s.Efer, s.ApicBase) = (r.Cr0, r.Cr2, r.Cr3, r.Cr4, r.Cr8, r.Efer, r.ApicBase);
    }

    private static X86Segment ToSegment(in KvmSegment s) =>
        new(s.Base, s.Limit, s.Selector, s.Type, s.Present != 0, s.Dpl, s.Db != 0, s.S != 0, s.L != 0, s.G != 0);

    private static KvmSegment FromSegment(in X86Segment s) => new()
    {
        Base = s.Base, Limit = s.Limit, Selector = s.Selector, Type = s.Type, Present = Bit(s.Present), Dpl = s.Dpl,
        Db = Bit(s.DefaultBig), S = Bit(s.CodeOrData), L = Bit(s.Long), G = Bit(s.Granular),
        Unusable = Bit(!s.Present),
    };

    private static byte Bit(bool value) => value ? (byte)1 : (byte)0;
}
