using System.CommandLine;
using IoVirt.Backends.Gpu;
using IoVirt.Backends.Gpu.Sharing;
using IoVirt.Backends.Gpu.Virgl;
using IoVirt.Interop;
using IoVirt.Sandbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary><c>iovirt gpu</c>: virtio-gpu (2D, and 3D with --virgl) over vhost-user.</summary>
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
        var virgl = CommandLine.Flag("--virgl", """
            3D: the guest's OpenGL through virglrenderer on this
            host's GPU (Mesa's llvmpipe where it has none);
            one guest per process (see --sockets)
            """);
        var sockets = CommandLine.Text("--sockets", "PATH,PATH,...", """
            several guests on one GPU: each socket is served by
            a GPU process of its own, and this one shares the
            GPU's time among them (see --share)
            """);
        var share = CommandLine.Text("--share", "MODE", $"""
            how --sockets guests share the GPU's time:
            {GpuSharePolicy.Modes}
            (default best-effort)
            """);
        var turnsFd = CommandLine.Int("--turns-fd", "N", """
            descriptor N is this guest's end of a shared GPU's
            arbiter (given by iovirt gpu --sockets to its children)
            """, 3, 65535);
        var daemon = new DaemonOptions();
        var capabilities = CommandLine.Flag("--print-capabilities", "print the back end's capabilities as JSON and exit");
        var command = new DocumentedCommand("gpu", "Serves a virtio-gpu device over vhost-user on the Unix socket PATH.")
        {
            Details = """
                The guest's 2D resources live in this process; what its scanouts show goes to
                the VMM's display over the vhost-user-gpu protocol, and with --snapshot to PNG
                files. With --virgl the guest also gets 3D (VIRTIO_GPU_F_VIRGL): its contexts,
                3D resources and command streams go to virglrenderer, started before the
                sandbox closes; a 3D resource on a scanout is read back for the display.
                QEMU connects with
                  -chardev socket,id=gpu0,path=PATH -device vhost-user-gpu-pci,chardev=gpu0
                (guest RAM must be shared: -object memory-backend-memfd,id=mem,size=...,share=on
                 -machine memory-backend=mem). A guest over --max-resource-memory gets
                ERR_OUT_OF_MEMORY and goes on.

                One GPU, several guests: --sockets A,B,C serves each socket from a GPU process
                of its own (this program again, confined as one guest's daemon is), since
                virglrenderer's ids are global to a process and its faults should stay with
                one guest. This process shares the GPU's time among them: one guest's 3D work
                at a time, in turns of up to 4 ms charged from grant to the last fence, chosen
                by mClock under --share. A guest back from idle gets the GPU after the current
                submission (there is no preempting one). --max-resource-memory is per guest.
                SIGUSR1 prints each guest's turns, GPU time and waits; each guest's process
                prints its own line on exit. A guest's process that dies is logged and the
                others go on; if this process dies, they stop.

                The socket: a stale one at PATH is replaced; PATH holding anything else is
                refused (exit 2), and so is a socket another daemon serves (exit 1; it holds
                PATH.lock, which names it). On exit only the socket this daemon made is removed.

                On exit it prints one JSON line on stdout: commands (answered), errors (answered
                with an error) and resourceBytes (held now); SIGUSR1 prints the same line at any
                time. Logs go to stderr. SIGTERM or SIGINT stop the back end and remove the
                socket file. Exit codes: 0 stopped by a signal, 1 could not serve, 2 usage error.

                """,
        };
        socket.AddTo(command, unless: capabilities, instead: sockets);
        command.Add(sockets);
        command.Add(share);
        command.Add(turnsFd);
        command.Validators.Add(result =>
        {
            if (result.GetValue(sockets) is { } paths && SocketList(paths, out var why) is null)
            {
                result.AddError($"--sockets {paths}: {why}");
            }

            if (result.GetResult(share) is not null && result.GetResult(sockets) is null)
            {
                result.AddError("--share needs --sockets");
            }

            if (result.GetResult(turnsFd) is not null && result.GetResult(sockets) is not null)
            {
                result.AddError("--turns-fd and --sockets exclude each other");
            }
        });
        command.Add(scanouts);
        command.Add(width);
        command.Add(height);
        command.Add(memory);
        command.Add(snapshot);
        command.Add(virgl);
        command.Add(DaemonOptions.SettingsFile());
        daemon.AddTo(command);
        command.Add(capabilities);
        command.SetAction(result =>
        {
            if (result.GetValue(capabilities))
            {
                // vhost-user.json's gpu features: virgl (--virgl). render-node is not one: the
                // renderer picks its GPU through EGL.
                Console.Out.WriteLine("{\n  \"type\": \"gpu\",\n  \"features\": [\n    \"virgl\"\n  ]\n}");
                return 0;
            }

            var options = new GpuDeviceOptions
            {
                Scanouts = result.GetValue(scanouts) ?? 1,
                Width = (uint)(result.GetValue(width) ?? 1280),
                Height = (uint)(result.GetValue(height) ?? 800),
                MaxResourceBytes = result.GetValue(memory) ?? (256UL << 20),
                Virgl = result.GetValue(virgl),
            };
            if (result.GetValue(sockets) is { } paths)
            {
                return Share(result, SocketList(paths, out _)!, result.GetValue(share) ?? "best-effort", options, daemon, snapshot);
            }

            if (options.Virgl && StartRenderer() is { } rendererExit)
            {
                return rendererExit;
            }

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

            UnixSocket? arbiter = null;
            if (result.GetValue(turnsFd) is { } fd)
            {
                try
                {
                    arbiter = UnixSocket.AdoptConnected(fd);
                }
                catch (ArgumentException e)
                {
                    return CommandLine.UsageError(result, $"--turns-fd {fd}: {e.Message}");
                }
            }

            GpuDevice? device = null;
            return DaemonHost.Run(
                served,
                services => device = new GpuDevice(
                    options,
                    snapshotDirectory is null ? null : new PngSnapshotDisplay(snapshotDirectory),
                    arbiter is null ? null : Turns(arbiter, services)),
                daemon.Telemetry(result),
                TimeSpan.Zero,
                () => DaemonHost.PrintReport(new GpuReport(device?.Commands ?? 0, device?.Errors ?? 0, device?.ResourceBytes ?? 0), ReportJson.Default.GpuReport),
                sandbox);
        });
        return command;
    }

    /// <summary>How long a guest of a shared GPU may keep it while it has work (GVT-g's and vGPU's time slices are of this order).</summary>
    private static readonly TimeSpan TurnSlice = TimeSpan.FromMilliseconds(4);

    /// <summary>How long a guest keeps its turn after a submission, waiting for its next.</summary>
    private static readonly TimeSpan TurnLinger = TimeSpan.FromMilliseconds(0.5);

    /// <summary>
    /// The turns of a guest of a shared GPU, from its parent's arbiter. The parent supervises:
    /// when it is gone (its end of the socket closes), this guest's process stops too, rather
    /// than serve on unarbitrated with nobody to stop it.
    /// </summary>
    private static GpuTurnClient Turns(UnixSocket arbiter, IServiceProvider services)
    {
        var log = services.GetRequiredService<ILoggerFactory>().CreateLogger("gpu");
        var lifetime = services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();
        var watcher = SelfNamedThread.Create("gpu arbiter watch", () =>
        {
            while (!arbiter.WaitForHangup(Timeout.Infinite))
            {
                // A signal cut the wait short.
            }

            log.LogWarning("gpu: the process sharing the GPU (iovirt gpu --sockets) is gone; stopping");
            lifetime.StopApplication();
        });
        watcher.Start();
        return new GpuTurnClient(arbiter, TurnSlice, TurnLinger, log);
    }

    /// <summary>Runs <see cref="GpuShareHost"/>: the guests' GPU processes get this daemon's device, log and sandbox options.</summary>
    private static int Share(ParseResult result, string[] guests, string mode, GpuDeviceOptions options, DaemonOptions daemon, Option<string> snapshot)
    {
        if (GpuSharePolicy.Parse(mode, guests.Length, out var why) is not { } shares)
        {
            return CommandLine.UsageError(result, $"--share {mode}: {why}");
        }

        if (result.GetValue(snapshot) is not null)
        {
            return CommandLine.UsageError(result, "--snapshot is for one guest: it names no guest's files");
        }

        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        string[] device =
        [
            "--scanouts", options.Scanouts.ToString(invariant),
            "--width", options.Width.ToString(invariant),
            "--height", options.Height.ToString(invariant),
            "--max-resource-memory", options.MaxResourceBytes.ToString(invariant),
            .. options.Virgl ? ["--virgl"] : Array.Empty<string>(),
        ];
        return GpuShareHost.Run(guests, shares, [.. device, .. daemon.ForChild(result)], daemon.Telemetry(result));
    }

    private static string[]? SocketList(string text, out string why)
    {
        var paths = text.Split(',');
        why = paths.Any(string.IsNullOrEmpty) ? "socket paths separated by commas"
            : paths.Distinct(StringComparer.Ordinal).Count() != paths.Length ? "each socket once"
            : string.Empty;
        return why.Length == 0 ? paths : null;
    }

    /// <summary>Starts virglrenderer while the host's GL drivers are still in view (the sandbox hides them); 1 with the reason when it cannot.</summary>
    private static int? StartRenderer()
    {
        try
        {
            _ = VirglRenderer.Shared;
            return null;
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"iovirt gpu: --virgl: {e.Message}");
            return 1;
        }
    }

    private static ulong? ParseSize(string text, out string why)
    {
        why = ByteSize.TryParse(text, out var bytes) && bytes >= (1 << 20) ? string.Empty : "a size of at least 1M, such as 64M or 1G";
        return why.Length == 0 ? bytes : null;
    }
}

/// <summary>What <c>iovirt gpu</c> reports: commands answered, of them with an error, and the resource bytes held.</summary>
internal readonly record struct GpuReport(long Commands, long Errors, ulong ResourceBytes);
