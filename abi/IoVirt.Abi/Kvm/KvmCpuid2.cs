using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_cpuid_entry2: what CPUID returns for one leaf (function) and subleaf (index).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmCpuidEntry2
{
    public uint Function;
    public uint Index;
    /// <summary>KVM_CPUID_FLAG_SIGNIFCANT_INDEX (1): the subleaf matters.</summary>
    public uint Flags;
    public uint Eax, Ebx, Ecx, Edx;
    private readonly uint _padding0, _padding1, _padding2;
}

/// <summary>struct kvm_cpuid2: a count, then that many <see cref="KvmCpuidEntry2"/> (a flexible array).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmCpuid2
{
    public const int HeaderSize = 8;

    public uint Count;
    private readonly uint _padding;
}
