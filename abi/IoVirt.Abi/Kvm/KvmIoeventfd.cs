using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_ioeventfd: a guest write to an address or port signals an eventfd in the kernel, with no exit.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmIoeventfd
{
    /// <summary>KVM_IOEVENTFD_FLAG_*: match the written value, a port (not MMIO), remove.</summary>
    public const uint FlagDatamatch = 1, FlagPio = 2, FlagDeassign = 4;

    public ulong Datamatch;
    public ulong Addr;
    /// <summary>Access width 1, 2, 4 or 8; 0 matches any width (MMIO only).</summary>
    public uint Len;
    public int Fd;
    public uint Flags;
    private readonly FixedBytes36 _pad;
}
