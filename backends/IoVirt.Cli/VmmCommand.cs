using System.CommandLine;
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
        var vhostUser = new Option<string[]>("--vhost-user")
        {
            HelpName = VhostUserDeviceSpec.Syntax,
            Description = "a virtio device served by the vhost-user back end listening on PATH (repeatable)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var logLevel = CommandLine.Parsed<LogLevel>("--log-level", "LEVEL", "trace, debug, information, warning (default), error", DaemonOptions.ParseLevel);
        var command = new DocumentedCommand("vmm", "Boots a Linux kernel in a KVM virtual machine: a PC with ACPI, an in-kernel irqchip and PIT, and COM1 on stdout.")
        {
            Details = """
                The guest's serial console (COM1, ttyS0) is this process's stdout. Guest RAM is
                a memfd, so vhost-user back ends can map it. Each --vhost-user device is a
                virtio-pci device with MSI-X; its back end gets the queues' ioeventfds as kicks
                and irqfds as calls, so its I/O never passes through the VMM.

                Rings are split unless a device says packed=on; a back end that goes away
                (killed, crashed) is waited for on its socket and its successor resumes the
                rings where the guest's used rings stand (split rings only).

                Exit codes: 0 the guest rebooted or powered off, 1 the VMM could not run (no
                usable /dev/kvm, a hypervisor error), 2 bad input (a missing kernel, a file
                that is not a bzImage, too little memory, a socket nobody answers on), 3 the
                guest crashed (a triple fault, or a vCPU the hypervisor could not run).

                """,
        };
        command.Add(kernel);
        command.Add(initrd);
        command.Add(cmdline);
        command.Add(memory);
        command.Add(cpus);
        command.Add(vhostUser);
        command.Add(logLevel);
        CommandLine.Require(command, kernel);
        command.SetAction(result =>
        {
            var devices = new List<VhostUserDeviceSpec>();
            foreach (var text in result.GetValue(vhostUser) ?? [])
            {
                if (VhostUserDeviceSpec.Parse(text, out var why) is not { } spec)
                {
                    return CommandLine.UsageError(result, $"bad --vhost-user '{text}': {why}");
                }

                devices.Add(spec);
            }

            BzImage image;
            byte[] initramfs;
            try
            {
                image = BzImage.Load(result.GetRequiredValue(kernel));
                initramfs = result.GetValue(initrd) is { } path ? File.ReadAllBytes(path) : [];
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                return CommandLine.UsageError(result, ex.Message);
            }

            using var logging = LoggerFactory.Create(builder => DaemonHost.ConfigureLogging(builder, result.GetValue(logLevel) ?? LogLevel.Warning));
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
                using var machine = new PcMachine(hypervisor, options, logger);
                try
                {
                    foreach (var device in devices)
                    {
                        machine.AddVirtio(VhostUserBackend.Connect(device.Socket, device.Type, machine.Memory, logger, device.Packed));
                    }

                    machine.Boot(image, initramfs, result.GetValue(cmdline) ?? "console=ttyS0");
                }
                catch (Exception ex) when (ex is InvalidDataException or VirtioBackendException)
                {
                    return CommandLine.UsageError(result, ex.Message);
                }

                var exit = machine.Run();
                stdout.Flush();
                logger.LogInformation("the guest stopped: {Exit}", exit);
                return exit is MachineExit.Reset or MachineExit.PowerOff ? 0 : 3;
            }
        });
        return command;
    }

    private static ulong? ParseMemory(string text, out string why)
    {
        why = $"a size of at least {GuestLayout.MinimumMemory >> 20}M in whole MiB, such as 512M or 2G";
        return ByteSize.TryParse(text, out var bytes) && bytes >= GuestLayout.MinimumMemory && bytes % (2UL << 20) == 0 ? bytes : null;
    }
}
