using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_segment: a segment register with its hidden descriptor cache.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmSegment
{
    public ulong Base;
    public uint Limit;
    public ushort Selector;
    public byte Type;
    public byte Present, Dpl, Db, S, L, G, Avl;
    public byte Unusable;
    public byte Padding;
}

/// <summary>struct kvm_dtable: the GDTR or IDTR.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmDtable
{
    public ulong Base;
    public ushort Limit;
    private readonly ushort _padding0, _padding1, _padding2;
}
