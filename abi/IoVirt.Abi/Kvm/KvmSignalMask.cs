using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>
/// struct kvm_signal_mask: the signals a vCPU thread has blocked while inside KVM_RUN (the
/// kernel's sigset, <see cref="KernelSigsetSize"/> bytes, follows the length as a flexible array).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmSignalMask
{
    public const int HeaderSize = 4;

    /// <summary>The kernel's sigset_t on x86-64: one bit per signal, 64 signals.</summary>
    public const int KernelSigsetSize = 8;

    public uint Length;
}
