namespace IoVirt.Hypervisor;

/// <summary>
/// One virtual CPU. Not thread-safe but for <see cref="Kick"/>: one thread creates it, sets it up
/// and runs it, handling each exit before running again.
/// </summary>
public interface IVcpu : IDisposable
{
    int Id { get; }

    /// <summary>
    /// Runs guest code until the next exit the VMM must handle. For port and MMIO reads the VMM
    /// fills <see cref="ExitData"/> before the next call; for writes it holds what was written.
    /// </summary>
    VcpuExit Run();

    /// <summary>
    /// From any thread: makes the <see cref="Run"/> under way, or else the next one, return
    /// <see cref="VcpuExitKind.Interrupted"/> soon, even when the guest is halted in the
    /// hypervisor. The caller sets whatever the running thread should see first. Only while the
    /// thread that runs this vCPU is alive. (WHP: WHvCancelRunVirtualProcessor.)
    /// </summary>
    void Kick();

    /// <summary>The bytes of the current port or MMIO exit (<see cref="VcpuExit.Size"/> times <see cref="VcpuExit.Count"/>).</summary>
    Span<byte> ExitData { get; }

    X86Registers GetRegisters();

    void SetRegisters(in X86Registers registers);

    X86SpecialRegisters GetSpecialRegisters();

    void SetSpecialRegisters(in X86SpecialRegisters registers);

    /// <summary>Sets the x87 control word and MXCSR, the FPU state a boot loader leaves.</summary>
    void SetFpuControl(ushort controlWord, uint mxcsr);

    void SetCpuid(IReadOnlyList<CpuidEntry> entries);

    /// <summary>Sets XCR0, the state components XSAVE manages (after <see cref="SetCpuid"/>, which bounds them).</summary>
    void SetXcr0(ulong value);

    void SetMsrs(ReadOnlySpan<(uint Index, ulong Value)> msrs);

    /// <summary>
    /// Sets the local APIC's LINT0 to ExtINT (the 8259's output) and LINT1 to NMI, as a PC's
    /// firmware leaves them.
    /// </summary>
    void SetLegacyLocalInterrupts();
}
