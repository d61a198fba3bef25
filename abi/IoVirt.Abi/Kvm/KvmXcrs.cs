using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_xcr: one extended control register (XCR0 is number 0).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmXcr
{
    public uint Xcr;
    private readonly uint _reserved;
    public ulong Value;
}

/// <summary>struct kvm_xcrs (asm/kvm.h): up to 16 extended control registers.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmXcrs
{
    public uint Count;
    public uint Flags;
    public KvmXcrArray Xcrs;
    private readonly KvmUInt64x16 _padding;
}

[System.Runtime.CompilerServices.InlineArray(16)]
public struct KvmXcrArray
{
    private KvmXcr _element0;
}
