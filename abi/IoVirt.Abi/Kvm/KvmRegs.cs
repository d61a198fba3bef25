using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_regs (asm/kvm.h): the x86-64 general-purpose registers, RIP and RFLAGS.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmRegs
{
    public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp;
    public ulong R8, R9, R10, R11, R12, R13, R14, R15;
    public ulong Rip, Rflags;
}
