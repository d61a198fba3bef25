using System.CommandLine;
using IoVirt.Backends.Gpu;
using IoVirt.Sandbox;

namespace IoVirt.Cli;

/// <summary><c>iovirt gpu</c>: virtio-gpu (2D) over vhost-user.</summary>
internal static class GpuCommand
{
    public static Command Create()
    {
        var socket = new BackendSocket();
        var scanouts = CommandLine.Int("--scanouts", "N", "displays, 1 to 16 (default 1)", 1, 16);
        var width = CommandLine.Int("--width", "PIXELS", """
            display width where the VMM's display
            gives none (default 1280)
            """, 1, (int)GpuDeviceOptions.MaxDisplaySide);
        var height = CommandLine.Int("--height", "PIXELS", """
            display height where the VMM's display
            gives none (default 800)
            """, 1, (int)GpuDeviceOptions.MaxDisplaySide);
        var memory = CommandLine.Parsed<ulong>("--max-resource-memory", "SIZE", """
            host memory the guest's resources may take together,
            e.g. 64M (default 256M)
            """, ParseSize);
        var snapshot = CommandLine.Text("--snapshot", "DIR", """
            after each flush, write scanout N's image to
            DIR/scanout-N.png (needs --sandbox none)
            """);
        var daemon = new DaemonOptions();
        var capabilities = CommandLine.Flag("--print-capabilities", "print the back end's capabilities as JSON and exit");
        var command = new DocumentedCommand("gpu", "Serves a virtio-gpu device (2D) over vhost-user on the Unix socket PATH.")
        {
            Details = """
                The guest's 2D resources live in this process; what its scanouts show goes to
                the VMM's display over the vhost-user-gpu protocol, and with --snapshot to PNG
                files. QEMU connects with
                  -chardev socket,id=gpu0,path=PATH -device vhost-user-gpu-pci,chardev=gpu0
                (guest RAM must be shared: -object memory-backend-memfd,id=mem,size=...,share=on
                 -machine memory-backend=mem). A guest over --max-resource-memory gets
                ERR_OUT_OF_MEMORY and goes on.

                The socket: a stale one at PATH is replaced; PATH holding anything else is
                refused (exit 2), and so is a socket another daemon serves (exit 1; it holds
                PATH.lock, which names it). On exit only the socket this daemon made is removed.

                On exit it prints one JSON line on stdout: commands (answered), errors (answered
                with an error) and resourceBytes (held now); SIGUSR1 prints the same line at any
                time. Logs go to stderr. SIGTERM or SIGINT stop the back end and remove the
                socket file. Exit codes: 0 stopped by a signal, 1 could not serve, 2 usage error.

                """,
        };
        socket.AddTo(command, unless: capabilities);
        command.Add(scanouts);
        command.Add(width);
        command.Add(height);
        command.Add(memory);
        command.Add(snapshot);
        command.Add(DaemonOptions.SettingsFile());
        daemon.AddTo(command);
        command.Add(capabilities);
        command.SetAction(result =>
        {
            if (result.GetValue(capabilities))
            {
                // vhost-user.json's gpu features (render-node, virgl) are 3D options, none yet; its
                // gpu capabilities must list them all the same.
                Console.Out.WriteLine("{\n  \"type\": \"gpu\",\n  \"features\": []\n}");
                return 0;
            }

            var options = new GpuDeviceOptions
            {
                Scanouts = result.GetValue(scanouts) ?? 1,
                Width = (uint)(result.GetValue(width) ?? 1280),
                Height = (uint)(result.GetValue(height) ?? 800),
                MaxResourceBytes = result.GetValue(memory) ?? (256UL << 20),
            };
            var snapshotDirectory = result.GetValue(snapshot);
            if (daemon.Enter(result, NetworkAccess.None, "iovirt gpu", out var sandbox) is { } sandboxExit)
            {
                return sandboxExit;
            }

            if (snapshotDirectory is not null && (sandbox.Policy.Mode != SandboxMode.None || !Directory.Exists(snapshotDirectory)))
            {
                // Confined, the daemon sees no file system to write snapshots to.
                return CommandLine.UsageError(result, $"--snapshot {snapshotDirectory}: {(Directory.Exists(snapshotDirectory) ? "needs --sandbox none" : "no such directory")}");
            }

            if (socket.Open(result, "iovirt gpu") is not { } served)
            {
                return 2;
            }

            GpuDevice? device = null;
            return DaemonHost.Run(
                served,
                _ => device = new GpuDevice(options, snapshotDirectory is null ? null : new PngSnapshotDisplay(snapshotDirectory)),
                daemon.Telemetry(result),
                TimeSpan.Zero,
                () => DaemonHost.PrintReport(new GpuReport(device?.Commands ?? 0, device?.Errors ?? 0, device?.ResourceBytes ?? 0), ReportJson.Default.GpuReport),
                sandbox);
        });
        return command;
    }

    private static ulong? ParseSize(string text, out string why)
    {
        why = ByteSize.TryParse(text, out var bytes) && bytes >= (1 << 20) ? string.Empty : "a size of at least 1M, such as 64M or 1G";
        return why.Length == 0 ? bytes : null;
    }
}

/// <summary>What <c>iovirt gpu</c> reports: commands answered, of them with an error, and the resource bytes held.</summary>
internal readonly record struct GpuReport(long Commands, long Errors, ulong ResourceBytes);
