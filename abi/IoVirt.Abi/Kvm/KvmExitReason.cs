namespace IoVirt.Abi.Kvm;

/// <summary>kvm_run.exit_reason values (KVM_EXIT_*) an x86 VMM meets.</summary>
public enum KvmExitReason : uint
{
    Unknown = 0,
    Exception = 1,
    Io = 2,
    Hypercall = 3,
    Debug = 4,
    Hlt = 5,
    Mmio = 6,
    IrqWindowOpen = 7,
    /// <summary>A triple fault (or another shutdown condition) in the guest.</summary>
    Shutdown = 8,
    FailEntry = 9,
    /// <summary>KVM_RUN returned to deliver a signal, or because immediate_exit was set.</summary>
    Intr = 10,
    Nmi = 16,
    InternalError = 17,
    SystemEvent = 24,
}

/// <summary>kvm_run.system_event.type values (KVM_SYSTEM_EVENT_*).</summary>
public enum KvmSystemEvent : uint
{
    Shutdown = 1,
    Reset = 2,
    Crash = 3,
}
