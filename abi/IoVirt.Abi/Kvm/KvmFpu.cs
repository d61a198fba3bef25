using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_fpu (asm/kvm.h): x87 and SSE state.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmFpu
{
    public KvmBytes128 Fpr;
    /// <summary>x87 control word; 0x37F after FNINIT.</summary>
    public ushort Fcw;
    public ushort Fsw;
    public byte Ftwx;
    private readonly byte _pad1;
    public ushort LastOpcode;
    public ulong LastIp;
    public ulong LastDp;
    public KvmBytes256 Xmm;
    /// <summary>SSE control and status; 0x1F80 at reset.</summary>
    public uint Mxcsr;
    private readonly uint _pad2;
}
