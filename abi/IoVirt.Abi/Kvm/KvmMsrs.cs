using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_msr_entry: one model-specific register.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmMsrEntry
{
    public uint Index;
    private readonly uint _reserved;
    public ulong Data;
}

/// <summary>struct kvm_msrs: a count, then that many <see cref="KvmMsrEntry"/> (a flexible array).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmMsrs
{
    public const int HeaderSize = 8;

    public uint Count;
    private readonly uint _pad;
}
