namespace IoVirt.Machine;

/// <summary>Why a machine stopped.</summary>
public enum MachineExit
{
    /// <summary>The guest rebooted (ACPI reset, keyboard controller reset).</summary>
    Reset,
    /// <summary>The guest powered off (ACPI S5).</summary>
    PowerOff,
    /// <summary>A vCPU triple-faulted: the guest crashed.</summary>
    TripleFault,
    /// <summary>The hypervisor could not run a vCPU (a failed entry or an emulation error).</summary>
    Failed,
}
