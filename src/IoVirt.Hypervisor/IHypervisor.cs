namespace IoVirt.Hypervisor;

/// <summary>A hypervisor on this host (KVM today; Windows Hypervisor Platform fits the same shape).</summary>
public interface IHypervisor : IDisposable
{
    /// <summary>The most vCPUs one VM may have.</summary>
    int MaxVcpus { get; }

    /// <summary>The CPUID leaves the hypervisor can present to a guest, as a starting point for each vCPU's.</summary>
    IReadOnlyList<CpuidEntry> SupportedCpuid { get; }

    /// <summary>
    /// A new VM with an in-kernel interrupt controller (PIC, IOAPIC and local APICs) and PIT,
    /// and no memory yet.
    /// </summary>
    IVirtualMachine CreateVm();
}
