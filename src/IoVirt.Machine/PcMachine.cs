using IoVirt.Hypervisor;
using IoVirt.Interop;
using IoVirt.Machine.Pci;
using IoVirt.Memory;
using Microsoft.Extensions.Logging;

namespace IoVirt.Machine;

/// <summary>
/// An x86 PC on a hypervisor: RAM on memfd (so vhost-user back ends can map it), the in-kernel
/// irqchip and PIT, COM1, the CMOS clock, reset and poweroff ports, and ACPI tables for its
/// vCPUs. Devices are added to <see cref="Ports"/> and <see cref="Mmio"/> before
/// <see cref="Boot"/>; <see cref="Run"/> then runs every vCPU on its own thread until the guest
/// resets, powers off or crashes.
/// </summary>
public sealed class PcMachine : IDisposable
{
    private readonly IVirtualMachine _vm;
    private readonly List<IVcpu> _vcpus = [];
    private readonly ILogger _logger;
    private readonly List<VirtioPciDevice> _virtioDevices = [];
    private readonly MsiRouter _msiRouter = null!;
    private readonly TaskCompletionSource<MachineExit> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Which vCPUs have a live thread in <see cref="RunVcpu"/>: only those may be kicked.</summary>
    private readonly Lock _threadsGate = new();
    private readonly HashSet<IVcpu> _running = [];

    public PcMachine(IHypervisor hypervisor, MachineOptions options, ILogger logger)
    {
        if (options.VcpuCount < 1 || options.VcpuCount > Math.Min(hypervisor.MaxVcpus, 254))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"{options.VcpuCount} vCPUs: this host allows 1 to {Math.Min(hypervisor.MaxVcpus, 254)}");
        }

        _logger = logger;
        Layout = new GuestLayout(options.MemorySize);
        VcpuCount = options.VcpuCount;
        _vm = hypervisor.CreateVm();
        try
        {
            var regions = Layout.RamRegions.Select((ram, i) => GuestRegion.CreateMemfd(ram.Address, ram.Size, $"iovirt-ram{i}")).ToArray();
            Memory = new GuestMemory(regions);
            var slot = 0;
            foreach (var region in Memory.Regions)
            {
                unsafe
                {
                    // As QEMU does: with huge pages, a guest's first touch of 2 MiB is one nested-paging
                    // fault instead of 512, which is most of an initramfs unpack under nested KVM.
                    Mapping.AdviseHugePages(region.Host, region.Size);
                    _vm.MapMemory(slot++, region.GuestAddress, (nint)region.Host, region.Size);
                }
            }

            Console = new Serial8250(options.Console, high => _vm.SetIrqLine(Serial8250.Com1Irq, high));
            Ports.Add(Serial8250.Com1Port, Serial8250.Length, Console);
            AcpiDevices.Add(Serial8250.AcpiDevice("COM1", Serial8250.Com1Port, Serial8250.Com1Irq));
            Ports.Add(CmosClock.Port, CmosClock.Length, new CmosClock(options.Time));
            PowerControl.Attach(Ports, Stop);
            Ports.Add(PciBus.Port, PciBus.Length, Pci);
            AcpiDevices.Add(PciBus.AcpiDevice());
            _msiRouter = new MsiRouter(_vm);

            for (var id = 0; id < options.VcpuCount; id++)
            {
                var vcpu = _vm.CreateVcpu(id);
                _vcpus.Add(vcpu);
                var cpuid = CpuidTable.For(hypervisor.SupportedCpuid, id, options.VcpuCount);
                vcpu.SetCpuid(cpuid);

                // Not the reset value 1: a hypervisor that never sees the guest's XSETBV (QEMU's
                // TCG emulating SVM for a nested KVM does not intercept it) goes on believing the
                // value set here and loads it at every entry. Set to what Linux enables, the guest
                // keeps its SSE and AVX state under XSAVE and sizes its buffers consistently.
                vcpu.SetXcr0(CpuidTable.InitialXcr0(cpuid));
                LongModeBoot.SetCommonState(vcpu);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public GuestLayout Layout { get; }

    public int VcpuCount { get; }

    /// <summary>All of guest RAM; its regions are memfds a back end can map.</summary>
    public GuestMemory Memory { get; } = null!;

    public IVirtualMachine Vm => _vm;

    public IoBus Ports { get; } = new();

    public IoBus Mmio { get; } = new();

    /// <summary>PCI bus 0, behind configuration mechanism #1.</summary>
    public PciBus Pci { get; } = new();

    public Serial8250 Console { get; } = null!;

    /// <summary>
    /// AML Device terms for the DSDT's \_SB. A hardware-reduced ACPI guest maps no ISA
    /// interrupt it is not told of, so every device with an IRQ is described here.
    /// </summary>
    public List<byte[]> AcpiDevices { get; } = [];

    /// <summary>
    /// Loads a Linux kernel and points the bootstrap processor at it, with ACPI tables that
    /// describe <see cref="AcpiDevices"/> and a reset vector for the guest's reboot to reach.
    /// </summary>
    public void Boot(BzImage kernel, BootPayload initrd, string commandLine)
    {
        var acpi = AcpiTables.Build(GuestLayout.AcpiAddress, VcpuCount, AcpiDevices);
        if ((ulong)acpi.Length > GuestLayout.BiosEnd - GuestLayout.AcpiAddress)
        {
            throw new InvalidOperationException("the ACPI tables outgrow the BIOS area");
        }

        LinuxLoader.Write(Memory, GuestLayout.AcpiAddress, acpi);
        LongModeBoot.WriteTables(Memory);
        LinuxLoader.Write(Memory, ResetVector.Address, ResetVector.Code);
        var entry = LinuxLoader.Load(Memory, Layout, kernel, initrd, commandLine, GuestLayout.AcpiAddress);
        LongModeBoot.SetBootProcessor(_vcpus[0], entry);
    }

    /// <summary>Puts a virtio device on the PCI bus, served by <paramref name="backend"/>, which the machine now owns.</summary>
    public VirtioPciDevice AddVirtio(IVirtioBackend backend)
    {
        var device = new VirtioPciDevice(_vm, _msiRouter, Pci, Mmio, backend, _logger);
        _virtioDevices.Add(device);
        return device;
    }

    /// <summary>Every virtio device's state, a line for each device and each of its enabled queues (<see cref="VirtioPciDevice.Describe"/>).</summary>
    public IReadOnlyList<string> DescribeDevices() => _virtioDevices.SelectMany(device => device.Describe(Memory)).ToList();

    /// <summary>How long <see cref="Run"/> waits for a kicked vCPU thread that is busy in a device.</summary>
    private static readonly TimeSpan VcpuStopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Ends <see cref="Run"/> with <paramref name="exit"/>, kicking every vCPU out of the guest; the first call wins.</summary>
    public void Stop(MachineExit exit)
    {
        if (!_exit.TrySetResult(exit))
        {
            return;
        }

        _logger.LogDebug("the machine stops: {Exit}", exit);
        lock (_threadsGate)
        {
            foreach (var vcpu in _running)
            {
                vcpu.Kick();
            }
        }
    }

    /// <summary>
    /// Runs the vCPUs, each on its own thread, until the machine stops, and returns once every
    /// vCPU thread has ended (a halted vCPU is kicked out of the hypervisor), so the machine can
    /// be disposed. A thread still busy in a device after <see cref="VcpuStopTimeout"/> is logged
    /// and left, and <see cref="Dispose"/> then frees nothing.
    /// </summary>
    public MachineExit Run()
    {
        var threads = new List<Thread>();
        lock (_threadsGate)
        {
            foreach (var vcpu in _vcpus)
            {
                _running.Add(vcpu);
                var thread = SelfNamedThread.Create($"vcpu{vcpu.Id}", () => RunVcpu(vcpu));
                threads.Add(thread);
                thread.Start();
            }
        }

        var exit = _exit.Task.GetAwaiter().GetResult();
        var deadline = Environment.TickCount64 + (long)VcpuStopTimeout.TotalMilliseconds;
        foreach (var thread in threads)
        {
            if (!thread.Join(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64))))
            {
                _logger.LogError("{Thread} did not stop within {Timeout}s of the machine's end", thread.Name, VcpuStopTimeout.TotalSeconds);
            }
        }

        return exit;
    }

    /// <summary>
    /// Frees the devices, vCPUs, memory and VM, unless a vCPU thread outlived <see cref="Run"/>:
    /// then everything it may still touch is left to the process's end.
    /// </summary>
    public void Dispose()
    {
        lock (_threadsGate)
        {
            if (_running.Count > 0)
            {
                return;
            }
        }

        foreach (var device in _virtioDevices)
        {
            device.Dispose();
        }

        foreach (var vcpu in _vcpus)
        {
            vcpu.Dispose();
        }

        Memory?.Dispose();
        _vm.Dispose();
    }

    private void RunVcpu(IVcpu vcpu)
    {
        try
        {
            RunUntilStopped(vcpu);
        }
        finally
        {
            lock (_threadsGate)
            {
                _running.Remove(vcpu);
            }
        }
    }

    private void RunUntilStopped(IVcpu vcpu)
    {
        try
        {
            while (!_exit.Task.IsCompleted)
            {
                var exit = vcpu.Run();
                switch (exit.Kind)
                {
                    case VcpuExitKind.IoIn:
                        for (var i = 0; i < exit.Count; i++)
                        {
                            Ports.Read(exit.Address, vcpu.ExitData.Slice(i * exit.Size, exit.Size));
                        }

                        break;
                    case VcpuExitKind.IoOut:
                        for (var i = 0; i < exit.Count; i++)
                        {
                            Ports.Write(exit.Address, vcpu.ExitData.Slice(i * exit.Size, exit.Size));
                        }

                        break;
                    case VcpuExitKind.MmioRead:
                        Mmio.Read(exit.Address, vcpu.ExitData);
                        break;
                    case VcpuExitKind.MmioWrite:
                        Mmio.Write(exit.Address, vcpu.ExitData);
                        break;
                    case VcpuExitKind.Halt or VcpuExitKind.Interrupted:
                        break;
                    case VcpuExitKind.Reset:
                        Stop(MachineExit.Reset);
                        return;
                    case VcpuExitKind.Shutdown or VcpuExitKind.Crash:
                        // KVM resets a vCPU that shuts down before returning it, so its
                        // registers here are the reset vector's, not the crash's: none are logged.
                        _logger.LogError("vCPU {Vcpu} shut down (triple fault): the guest crashed", vcpu.Id);
                        Stop(MachineExit.TripleFault);
                        return;
                    default:
                        _logger.LogError("vCPU {Vcpu} failed: {Exit} at RIP 0x{Rip:x}", vcpu.Id, exit, vcpu.GetRegisters().Rip);
                        Stop(MachineExit.Failed);
                        return;
                }
            }
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "vCPU {Vcpu} stopped", vcpu.Id);
            Stop(MachineExit.Failed);
        }
    }
}
