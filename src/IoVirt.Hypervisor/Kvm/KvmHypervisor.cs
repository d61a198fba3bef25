using System.Runtime.CompilerServices;
using IoVirt.Abi.Kvm;

namespace IoVirt.Hypervisor.Kvm;

/// <summary>/dev/kvm: checks the API version and the capabilities a VMM of ours needs, and creates VMs.</summary>
public sealed unsafe class KvmHypervisor : IHypervisor
{
    private static readonly KvmCap[] Required =
        [KvmCap.Irqchip, KvmCap.UserMemory, KvmCap.SetTssAddr, KvmCap.ExtCpuid, KvmCap.IrqRouting, KvmCap.Irqfd, KvmCap.Pit2, KvmCap.Ioeventfd, KvmCap.SignalMsi, KvmCap.Xcrs];

    private readonly KvmFd _system;

    private KvmHypervisor(KvmFd system, int runSize, int maxVcpus, IReadOnlyList<CpuidEntry> cpuid)
    {
        _system = system;
        RunSize = runSize;
        MaxVcpus = maxVcpus;
        SupportedCpuid = cpuid;
    }

    public int MaxVcpus { get; }

    public IReadOnlyList<CpuidEntry> SupportedCpuid { get; }

    /// <summary>The size of each vCPU's kvm_run mapping.</summary>
    internal int RunSize { get; }

    /// <summary>Opens /dev/kvm; throws <see cref="HypervisorUnavailableException"/> naming what is missing.</summary>
    public static KvmHypervisor Open()
    {
        var system = KvmFd.OpenSystem();
        try
        {
            var version = system.Call(KvmIoctl.GetApiVersion, 0, "KVM_GET_API_VERSION");
            if (version != KvmIoctl.ApiVersion)
            {
                throw new HypervisorUnavailableException($"/dev/kvm speaks API {version}, not {KvmIoctl.ApiVersion}");
            }

            var missing = Required.Where(cap => system.Call(KvmIoctl.CheckExtension, (ulong)cap, "KVM_CHECK_EXTENSION") <= 0).ToList();
            if (missing.Count > 0)
            {
                throw new HypervisorUnavailableException($"/dev/kvm lacks {string.Join(", ", missing.Select(cap => "KVM_CAP_" + cap))}");
            }

            var maxVcpus = system.Call(KvmIoctl.CheckExtension, (ulong)KvmCap.MaxVcpus, "KVM_CHECK_EXTENSION");
            if (maxVcpus <= 0)
            {
                maxVcpus = system.Call(KvmIoctl.CheckExtension, (ulong)KvmCap.NrVcpus, "KVM_CHECK_EXTENSION");
            }

            var runSize = system.Call(KvmIoctl.GetVcpuMmapSize, 0, "KVM_GET_VCPU_MMAP_SIZE");
            var cpuid = ReadSupportedCpuid(system);
            if (system.Call(KvmIoctl.CheckExtension, (ulong)KvmCap.TscDeadlineTimer, "KVM_CHECK_EXTENSION") > 0)
            {
                OfferTscDeadlineTimer(cpuid);
            }

            return new KvmHypervisor(system, runSize, Math.Max(1, maxVcpus), cpuid);
        }
        catch
        {
            system.Dispose();
            throw;
        }
    }

    public IVirtualMachine CreateVm()
    {
        var fd = _system.Call(KvmIoctl.CreateVm, 0, "KVM_CREATE_VM");
        return KvmVm.Create(this, new KvmFd(fd));
    }

    public void Dispose() => _system.Dispose();

    /// <summary>
    /// CPUID.1:ECX bit 24, as QEMU sets it: KVM_GET_SUPPORTED_CPUID leaves it out although the
    /// in-kernel LAPIC emulates the timer, and without it Linux falls back to the LAPIC's
    /// one-shot count-down timer.
    /// </summary>
    private static void OfferTscDeadlineTimer(CpuidEntry[] cpuid)
    {
        for (var i = 0; i < cpuid.Length; i++)
        {
            if (cpuid[i].Function == 1)
            {
                cpuid[i].Ecx |= 1u << 24;
            }
        }
    }

    /// <summary>KVM_GET_SUPPORTED_CPUID fails with E2BIG until the buffer is big enough.</summary>
    private static CpuidEntry[] ReadSupportedCpuid(KvmFd system)
    {
        for (var capacity = 64; ; capacity *= 2)
        {
            var size = KvmCpuid2.HeaderSize + (capacity * Unsafe.SizeOf<KvmCpuidEntry2>());
            var buffer = new byte[size];
            fixed (byte* p = buffer)
            {
                ((KvmCpuid2*)p)->Count = (uint)capacity;
                var result = system.TryCall(KvmIoctl.GetSupportedCpuid, p);
                if (result == -Tmds.Linux.LibC.E2BIG && capacity < 4096)
                {
                    continue;
                }

                if (result < 0)
                {
                    throw Interop.Errno.Exception("KVM_GET_SUPPORTED_CPUID", -result);
                }

                var entries = new ReadOnlySpan<KvmCpuidEntry2>(p + KvmCpuid2.HeaderSize, (int)((KvmCpuid2*)p)->Count);
                var list = new CpuidEntry[entries.Length];
                for (var i = 0; i < entries.Length; i++)
                {
                    list[i] = KvmConvert.ToCpuid(entries[i]);
                }

                return list;
            }
        }
    }
}
