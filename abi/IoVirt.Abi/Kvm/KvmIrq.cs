using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_irq_level: raise or lower a GSI of the in-kernel irqchip.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmIrqLevel
{
    public uint Irq;
    public uint Level;
}

/// <summary>struct kvm_irqfd: an eventfd whose signal injects a GSI.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmIrqfd
{
    /// <summary>KVM_IRQFD_FLAG_DEASSIGN.</summary>
    public const uint FlagDeassign = 1;

    public uint Fd;
    public uint Gsi;
    public uint Flags;
    public uint ResampleFd;
    private readonly FixedBytes16 _pad;
}

/// <summary>struct kvm_msi: a message-signalled interrupt injected once (KVM_SIGNAL_MSI).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmMsi
{
    public uint AddressLo;
    public uint AddressHi;
    public uint Data;
    public uint Flags;
    public uint DevId;
    private readonly FixedBytes12 _pad;
}

/// <summary>struct kvm_pit_config: options of KVM_CREATE_PIT2.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmPitConfig
{
    /// <summary>KVM_PIT_SPEAKER_DUMMY: port 0x61 reads as a speaker that is there.</summary>
    public const uint SpeakerDummy = 1;

    public uint Flags;
    private readonly FixedBytes60 _pad;
}

/// <summary>struct kvm_lapic_state: the local APIC's 1 KiB register page.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmLapicState
{
    public const int Size = 1024;

    public KvmBytes1024 Regs;
}
