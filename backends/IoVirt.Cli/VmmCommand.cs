using System.CommandLine;
using System.Runtime.InteropServices;
using IoVirt.Hypervisor;
using IoVirt.Hypervisor.Kvm;
using IoVirt.Machine;
using IoVirt.Machine.Pci;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary><c>iovirt vmm</c>: the reference VMM, booting a Linux kernel on KVM.</summary>
internal static class VmmCommand
{
    private const ulong DefaultMemory = 512UL << 20;

    public static Command Create()
    {
        var kernel = CommandLine.Text("--kernel", "PATH", "the kernel to boot, an x86-64 bzImage; required");
        var initrd = CommandLine.Text("--initrd", "PATH", "an initramfs for the kernel");
        var cmdline = CommandLine.Text("--cmdline", "TEXT", "the kernel command line (default \"console=ttyS0\")");
        var memory = CommandLine.Parsed<ulong>("--memory", "SIZE", "guest RAM, e.g. 512M or 2G (default 512M)", ParseMemory);
        var cpus = CommandLine.Int("--cpus", "N", "vCPUs (default 1)", 1, 254);
        var disk = Repeatable("--disk", VmmDiskSpec.Syntax, "an in-process virtio-blk disk on an image file (opened buffered) or a zeroed RAM disk, with one queue per vCPU unless queues= says otherwise (repeatable)");
        var net = Repeatable("--net", VmmNetSpec.Syntax, "an in-process virtio-net NIC on the host TAP NAME, attached to or, if absent, created for the VMM's life (repeatable)");
        var rng = CommandLine.Flag("--rng", "an in-process virtio-rng device on the host's entropy");
        var vhostUser = Repeatable("--vhost-user", VhostUserDeviceSpec.Syntax, "a virtio device served by the vhost-user back end listening on PATH (repeatable)");
        var logLevel = CommandLine.Parsed<LogLevel>("--log-level", "LEVEL", "trace, debug, information, warning (default), error", DaemonOptions.ParseLevel);
        var command = new DocumentedCommand("vmm", "Boots a Linux kernel in a KVM virtual machine: a PC with ACPI, an in-kernel irqchip and PIT, and COM1 on stdout.")
        {
            Details = """
                The guest's serial console (COM1, ttyS0) is this process's stdout. Guest RAM is
                a memfd, so vhost-user back ends can map it. Each device is a virtio-pci device
                with MSI-X. A --vhost-user device's back end gets the queues' ioeventfds as
                kicks and irqfds as calls, so its I/O never passes through the VMM. --disk,
                --net and --rng run the same device models as `iovirt blk`, `iovirt net` and
                `iovirt rng`, in this process, on their own threads fed the same way.

                Rings are split unless a device says packed=on; a back end that goes away
                (killed, crashed) is waited for on its socket and its successor resumes the
                rings, resubmitting what was in flight (packed rings need a back end that
                keeps an inflight buffer, as iovirt's do).

                SIGUSR1 prints each device's state on stderr: its status and features, and
                for each queue the ring's indices in guest memory, whether its kick eventfd
                is set (a back end that reads its kicks clears it) and whether its MSI-X
                vector is live or holds a signal undelivered.

                Exit codes: 0 the guest rebooted or powered off, 1 the VMM could not run (no
                usable /dev/kvm, a hypervisor error), 2 bad input (a missing kernel or disk
                image, a file that is not a bzImage, too little memory, a TAP that cannot be
                opened, a socket nobody answers on), 3 the guest crashed (a triple fault, or a
                vCPU the hypervisor could not run).

                """,
        };
        command.Add(kernel);
        command.Add(initrd);
        command.Add(cmdline);
        command.Add(memory);
        command.Add(cpus);
        command.Add(disk);
        command.Add(net);
        command.Add(rng);
        command.Add(vhostUser);
        command.Add(logLevel);
        CommandLine.Require(command, kernel);
        command.SetAction(result =>
        {
            if (ParseAll(result, disk, VmmDiskSpec.Parse) is not { } disks
                || ParseAll(result, net, VmmNetSpec.Parse) is not { } nics
                || ParseAll(result, vhostUser, VhostUserDeviceSpec.Parse) is not { } daemons)
            {
                return 2;
            }

            BzImage image;
            BootPayload initramfs;
            try
            {
                image = BzImage.Load(result.GetRequiredValue(kernel));
                initramfs = result.GetValue(initrd) is { } path ? BootPayload.FromFile(path) : BootPayload.Empty;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                return CommandLine.UsageError(result, ex.Message);
            }

            using var logging = LoggerFactory.Create(builder => DaemonHost.ConfigureLogging(builder, new LogSettings(result.GetValue(logLevel) ?? LogLevel.Warning, LogFormat.Text)));
            var logger = logging.CreateLogger("iovirt.vmm");
            IHypervisor hypervisor;
            try
            {
                hypervisor = KvmHypervisor.Open();
            }
            catch (HypervisorUnavailableException ex)
            {
                logger.LogError("{Reason}", ex.Message);
                return 1;
            }

            using (hypervisor)
            {
                using var stdout = Console.OpenStandardOutput();
                var options = new MachineOptions
                {
                    MemorySize = result.GetValue(memory) ?? DefaultMemory,
                    VcpuCount = result.GetValue(cpus) ?? 1,
                    Console = stdout,
                };
                using var inProcess = new VmmInProcessDevices(logger);
                using var machine = new PcMachine(hypervisor, options, logger);
                try
                {
                    disks.ForEach(spec => inProcess.AddDisk(machine, spec));
                    nics.ForEach(spec => inProcess.AddNic(machine, spec));
                    if (result.GetValue(rng))
                    {
                        inProcess.AddRng(machine);
                    }

                    daemons.ForEach(spec => machine.AddVirtio(VhostUserBackend.Connect(spec.Socket, spec.Type, machine.Memory, logger, spec.Packed)));
                    machine.Boot(image, initramfs, result.GetValue(cmdline) ?? "console=ttyS0");
                }
                catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException or VirtioBackendException or DeviceOpenException)
                {
                    return CommandLine.UsageError(result, ex.Message);
                }

                // A person asking why the guest waits gets every device's state on stderr (stdout is the guest's console).
                using var describe = PosixSignalRegistration.Create(LinuxSignals.SigUsr1, context =>
                {
                    context.Cancel = true;
                    foreach (var line in machine.DescribeDevices())
                    {
                        Console.Error.WriteLine($"iovirt vmm: {line}");
                    }
                });
                var exit = machine.Run();
                stdout.Flush();
                logger.LogInformation("the guest stopped: {Exit}", exit);
                return exit is MachineExit.Reset or MachineExit.PowerOff ? 0 : 3;
            }
        });
        return command;
    }

    private static Option<string[]> Repeatable(string name, string syntax, string description) => new(name)
    {
        HelpName = syntax,
        Description = description,
        Arity = ArgumentArity.ZeroOrMore,
    };

    private delegate T? SpecParser<T>(string text, out string why);

    /// <summary>Every value of a repeatable device option, parsed; null after reporting the first bad one.</summary>
    private static List<T>? ParseAll<T>(ParseResult result, Option<string[]> option, SpecParser<T> parse)
    {
        var specs = new List<T>();
        foreach (var text in result.GetValue(option) ?? [])
        {
            if (parse(text, out var why) is not { } spec)
            {
                CommandLine.UsageError(result, $"bad {option.Name} '{text}': {why}");
                return null;
            }

            specs.Add(spec);
        }

        return specs;
    }

    private static ulong? ParseMemory(string text, out string why)
    {
        why = $"a size of at least {GuestLayout.MinimumMemory >> 20}M in whole MiB, such as 512M or 2G";
        return ByteSize.TryParse(text, out var bytes) && bytes >= GuestLayout.MinimumMemory && bytes % (2UL << 20) == 0 ? bytes : null;
    }
}
