namespace IoVirt.Hypervisor;

/// <summary>Why a vCPU stopped running guest code.</summary>
public enum VcpuExitKind
{
    /// <summary>IN from a port: fill <see cref="IVcpu.ExitData"/>.</summary>
    IoIn,
    /// <summary>OUT to a port: <see cref="IVcpu.ExitData"/> holds the value.</summary>
    IoOut,
    /// <summary>A read of guest-physical memory no slot backs: fill <see cref="IVcpu.ExitData"/>.</summary>
    MmioRead,
    /// <summary>A write to guest-physical memory no slot backs.</summary>
    MmioWrite,
    /// <summary>HLT with the irqchip in user space only; with an in-kernel irqchip the kernel waits.</summary>
    Halt,
    /// <summary>The guest triple-faulted (or the CPU otherwise shut down).</summary>
    Shutdown,
    /// <summary>The guest asked for a reset (PSCI or a paravirtual path).</summary>
    Reset,
    /// <summary>The guest reported a crash (a paravirtual panic notification).</summary>
    Crash,
    /// <summary>A signal interrupted the run; run again.</summary>
    Interrupted,
    /// <summary>The hypervisor could not run or emulate the guest; <see cref="VcpuExit.Detail"/> says what.</summary>
    Failed,
}

/// <summary>
/// A typed exit. <see cref="Address"/> is the port or guest-physical address, <see cref="Size"/>
/// the access width in bytes and <see cref="Count"/> the repeat count of a string port access.
/// </summary>
public readonly record struct VcpuExit(VcpuExitKind Kind, ulong Address = 0, int Size = 0, int Count = 1, ulong Detail = 0);
