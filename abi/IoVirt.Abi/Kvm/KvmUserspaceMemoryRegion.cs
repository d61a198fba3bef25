using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_userspace_memory_region: maps host memory into a slot of guest-physical space.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmUserspaceMemoryRegion
{
    public uint Slot;
    /// <summary>KVM_MEM_LOG_DIRTY_PAGES (1), KVM_MEM_READONLY (2).</summary>
    public uint Flags;
    public ulong GuestPhysAddr;
    /// <summary>In bytes; 0 deletes the slot.</summary>
    public ulong MemorySize;
    public ulong UserspaceAddr;
}
