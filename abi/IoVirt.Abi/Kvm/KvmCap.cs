namespace IoVirt.Abi.Kvm;

/// <summary>KVM_CHECK_EXTENSION capability numbers IoVirt needs (KVM_CAP_*).</summary>
public enum KvmCap : uint
{
    Irqchip = 0,
    Hlt = 1,
    UserMemory = 3,
    SetTssAddr = 4,
    ExtCpuid = 7,
    /// <summary>The recommended vCPU count.</summary>
    NrVcpus = 9,
    IrqRouting = 25,
    Irqfd = 32,
    Pit2 = 33,
    Ioeventfd = 36,
    /// <summary>KVM_GET_XCRS and KVM_SET_XCRS.</summary>
    Xcrs = 56,
    /// <summary>The most vCPUs a VM can have.</summary>
    MaxVcpus = 66,
    /// <summary>The in-kernel LAPIC emulates the TSC-deadline timer; its CPUID bit is the VMM's to set.</summary>
    TscDeadlineTimer = 72,
    SignalMsi = 77,
    ImmediateExit = 136,
}
