using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_sregs (asm/kvm.h): segments, descriptor tables, control registers, EFER and the APIC base.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmSregs
{
    public KvmSegment Cs, Ds, Es, Fs, Gs, Ss;
    public KvmSegment Tr, Ldt;
    public KvmDtable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8;
    public ulong Efer;
    public ulong ApicBase;
    /// <summary>Pending external interrupts, one bit per vector.</summary>
    public KvmUInt64x4 InterruptBitmap;
}
