using System.CommandLine;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Blk.Rbd;
using IoVirt.Sandbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary><c>iovirt blk</c>: virtio-blk over vhost-user on an image, a block device or a RAM disk.</summary>
internal static class BlkCommand
{
    /// <summary>Size of the RAM disk served when no image is given.</summary>
    private const ulong DefaultRamBytes = 512 << 20;

    public static Command Create()
    {
        var socket = new BackendSocket();
        var image = CommandLine.Text("--image", "FILE", """
            raw image file or block device, locked so a second back end
            cannot serve it too; or an image on a Ceph cluster:
            rbd:POOL/IMAGE[,conf=FILE][,id=USER][,timeout=SECONDS]
            """, "--blk-file");
        image.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } text && RbdImageSpec.Names(text) && RbdImageSpec.TryParse(text, out var why) is null)
            {
                result.AddError($"bad --image '{text}': {why}");
            }
        });
        var shareRw = CommandLine.Flag("--share-rw", """
            lock --image shared, so that another back end with --share-rw
            may serve it at once: a live migration's source and destination
            """);
        var ram = CommandLine.Parsed<ulong>("--ram", "SIZE", "RAM disk size, e.g. 64M, 2G (default 512M)", ParseRam);
        var readOnly = CommandLine.Flag("--readonly", "refuse writes, discards and write-zeroes", "--read-only");
        var queues = CommandLine.Int("--queues", "N", "request queues, one worker thread each (default 1)", 1, 64);
        var direct = CommandLine.Flag("--direct", "O_DIRECT for block-aligned requests (bypass the page cache)");
        var serial = CommandLine.Text("--serial", "ID", "GET_ID string, up to 20 ASCII bytes (default iovirt)");
        serial.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } text && (text.Length > 20 || !System.Text.Ascii.IsValid(text)))
            {
                result.AddError("--serial is at most 20 ASCII characters");
            }
        });
        var engine = CommandLine.Parsed<BlockEngineKind>("--engine", "NAME", """
            auto (default: mapped for an image in RAM, uring otherwise),
            uring (falls back to sync where io_uring is unavailable),
            sync (preadv2/pwritev2 on the queue's thread), mapped
            (tmpfs or RAM disk only: copies through a mapping),
            null (complete every request without I/O: the path alone),
            or rbd (librbd's asynchronous I/O: an rbd: image's only one)
            """, ParseEngine);
        var queueSize = CommandLine.Int("--queue-size", "N", "largest ring accepted (default 1024)", 2, 32768);
        var busyPoll = CommandLine.Int("--busy-poll", "USEC", """
            after work, poll the rings USEC microseconds before sleeping
            (default 32, as QEMU's iothreads, or 5 with the rbd engine)
            """, 0, 1_000_000);
        var sqPoll = CommandLine.Int("--sqpoll", "CPU", """
            with the uring engine, for a host that gives the back end
            a core: a kernel thread bound to CPU takes each queue's
            submissions (IORING_SETUP_SQPOLL), so none costs a system
            call (default: none; the worker submits)
            """, 0, Environment.ProcessorCount - 1);
        var fixedBuffers = CommandLine.Flag("--fixed-buffers", """
            with the uring engine: pin the guest's memory and register
            it with io_uring, so a request costs the kernel no address
            lookup (less CPU with --direct); the guest's memory then
            stays resident, which a balloon or overcommit cannot undo
            """);
        var daemon = new DaemonOptions();
        var capabilities = CommandLine.Flag("--print-capabilities", "print the back end's capabilities as JSON and exit");
        var command = new DocumentedCommand("blk", "Serves a virtio-blk device over vhost-user on the Unix socket PATH.")
        {
            Details = """
                With no --image it serves a RAM disk of 512 MiB (or --ram SIZE), zero-filled,
                whose pages exist once written. QEMU connects with
                  -chardev socket,id=blk0,path=PATH -device vhost-user-blk-pci,chardev=blk0
                (guest RAM must be shared: -object memory-backend-memfd,id=mem,size=...,share=on
                 -machine memory-backend=mem); add reconnect=1 to the chardev so QEMU comes
                back to a restarted back end, which re-runs the requests left in flight.

                Writes complete once done on the image; with the guest's write cache off they
                complete once durable, and FLUSH is an fdatasync of all completed writes.

                An rbd: image is served through librbd: conf names the cluster's configuration
                (default /etc/ceph/ceph.conf), id the Ceph user (default admin), and timeout
                makes an OSD request that waits longer fail with IOERR (default: it waits for
                the cluster). librbd's cache is off, so a completed write is on the OSDs.

                The socket: a stale one at PATH is replaced; PATH holding anything else is
                refused (exit 2), and so is a socket another daemon serves (exit 1; it holds
                PATH.lock, which names it). On exit only the socket this daemon made is removed.

                On exit it prints one JSON line of counters on stdout: "totals" and, for each
                queue, "queues": reads, writes, flushes, discards (discard and write-zeroes
                requests), errorsReported (completed with IOERR or UNSUPP), badRequests
                (chains without a usable status byte), readBytes and writtenBytes; SIGUSR1
                prints the same line at any time. With --metrics-listen the same figures, with
                latency histograms and queue depths, are served for Prometheus. Logs go to
                stderr. SIGTERM or SIGINT stop the back end and remove the socket file. Exit
                codes: 0 stopped by a signal, 1 could not serve, 2 usage error.

                """,
        };
        Option[] options = [image, shareRw, ram, readOnly, queues, direct, serial, engine, queueSize, busyPoll, sqPoll, fixedBuffers];
        socket.AddTo(command, unless: capabilities);
        Array.ForEach(options, command.Add);
        command.Add(DaemonOptions.SettingsFile());
        daemon.AddTo(command);
        command.Add(capabilities);
        command.Validators.Add(result =>
        {
            if (result.GetResult(image) is not null && result.GetResult(ram) is not null)
            {
                result.AddError("--image and --ram exclude each other");
            }

            if (result.GetResult(shareRw) is not null && result.GetResult(image) is null)
            {
                result.AddError("--share-rw needs --image");
            }

            if (result.GetResult(direct) is not null && result.GetValue(image) is { } text && RbdImageSpec.Names(text))
            {
                result.AddError("--direct is for an image file; an RBD image has no page cache here");
            }
        });
        command.SetAction(result =>
        {
            if (result.GetValue(capabilities))
            {
                // The vhost-user.json schema's "block" type: --read-only and --blk-file are supported.
                Console.Out.WriteLine("{\n  \"type\": \"block\",\n  \"features\": [\n    \"read-only\",\n    \"blk-file\"\n  ]\n}");
                return 0;
            }

            // The namespaces first: everything after runs in the re-executed program, and opens there.
            // An RBD image is reached over the host's network, by librados' own connections.
            var onCeph = result.GetValue(image) is { } named && RbdImageSpec.Names(named);
            if (daemon.Enter(result, onCeph ? NetworkAccess.Connects : NetworkAccess.None, "iovirt blk", out var sandbox) is { } sandboxExit)
            {
                return sandboxExit;
            }

            var imagePath = result.GetValue(image);
            var ramBytes = result.GetValue(ram) ?? DefaultRamBytes;
            if (imagePath is null)
            {
                // Checked when parsed; a RAM disk larger than the memory free now is allowed, with a warning.
                _ = RamDiskSize.Check(ramBytes, out var ramWarning);
                if (ramWarning is not null)
                {
                    Console.Error.WriteLine($"iovirt blk: warning: {ramWarning}");
                }
            }

            var settings = new BlkSettings(
                imagePath,
                ramBytes,
                result.GetValue(readOnly),
                result.GetValue(direct),
                result.GetValue(shareRw),
                new BlkDeviceOptions
                {
                    Queues = result.GetValue(queues) ?? 1,
                    ReadOnly = result.GetValue(readOnly),
                    Serial = result.GetValue(serial) ?? "iovirt",
                    Engine = result.GetValue(engine) ?? BlockEngineKind.Auto,
                    MaxQueueSize = result.GetValue(queueSize) ?? 1024,
                    SubmissionPollCpu = result.GetValue(sqPoll),
                    FixedBuffers = result.GetValue(fixedBuffers),
                });
            return socket.Open(result, "iovirt blk") is { } served
                ? Serve(result, served, settings, result.GetValue(busyPoll), daemon.Telemetry(result), sandbox)
                : 2;
        });
        return command;
    }

    private static int Serve(ParseResult result, ServedSocket socket, BlkSettings settings, int? busyPoll, DaemonTelemetry telemetry, DaemonSandbox sandbox)
    {
        IBlockImage store;
        try
        {
            store = settings.Image switch
            {
                null => BlockStore.CreateRam(settings.RamBytes, settings.ReadOnly),
                var text when RbdImageSpec.TryParse(text, out _) is { } rbd => RbdImage.Open(rbd, settings.ReadOnly),
                var path => BlockStore.Open(path, settings.ReadOnly, settings.Direct, settings.ShareRw),
            };
        }
        catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"iovirt blk: {e.Message}");
            return 1;
        }

        using (store)
        {
            BlockEngineKind engine;
            try
            {
                engine = settings.Device.EngineOn(store);
            }
            catch (BlkEngineConflictException conflict)
            {
                var flag = conflict.Option switch
                {
                    nameof(BlkDeviceOptions.SubmissionPollCpu) => "--sqpoll",
                    nameof(BlkDeviceOptions.FixedBuffers) => "--fixed-buffers",
                    _ => throw new InvalidOperationException($"no command-line option sets {conflict.Option}"),
                };
                return CommandLine.UsageError(result, $"{flag}: {conflict.Message}");
            }
            catch (ArgumentException e)
            {
                // The image knows which engines can serve it; asking for another is a usage error.
                return CommandLine.UsageError(result, e.Message);
            }

            // The service container owns the device and disposes it after the server.
            BlkDevice? device = null;
            return DaemonHost.Run(
                socket,
                services =>
                {
                    var log = services.GetRequiredService<ILoggerFactory>().CreateLogger("blk");
                    device = new BlkDevice(store, settings.Device with { Metrics = services.GetRequiredService<BlkMetrics>(), MetricsName = socket.Path }, log);
                    log.LogInformation(
                        "serving {Image}: {Bytes} bytes, {Queues} queue(s), {Engine} engine{ReadOnly}",
                        store.Name, store.Size, settings.Device.Queues, device.Engine, settings.ReadOnly ? ", read-only" : string.Empty);
                    return device;
                },
                telemetry,
                busyPoll is { } microseconds ? TimeSpan.FromMicroseconds(microseconds) : engine.DefaultBusyPoll(),
                () => DaemonHost.PrintReport(device is null ? new BlkReport(default, []) : new BlkReport(device.Totals, [.. device.Counters.Select(q => q.Snapshot())]), ReportJson.Default.BlkReport),
                sandbox);
        }
    }

    private static ulong? ParseRam(string text, out string why)
    {
        if (!ByteSize.TryParse(text, out var bytes))
        {
            why = "a size such as 64M or 2G";
            return null;
        }

        why = RamDiskSize.Check(bytes, out _);
        return why.Length == 0 ? bytes : null;
    }

    /// <summary>The engine <paramref name="text"/> names (any case), or null and the names there are.</summary>
    internal static BlockEngineKind? ParseEngine(string text, out string why)
    {
        why = "auto, uring, sync, mapped, null or rbd";
        return Enum.TryParse<BlockEngineKind>(text, ignoreCase: true, out var kind) && Enum.IsDefined(kind) ? kind : null;
    }

    /// <summary>What the options ask the device to be, checked.</summary>
    private sealed record BlkSettings(string? Image, ulong RamBytes, bool ReadOnly, bool Direct, bool ShareRw, BlkDeviceOptions Device);
}

/// <summary>What <c>iovirt blk</c> reports: the device's request counters, and each queue's.</summary>
internal sealed record BlkReport(BlkTotals Totals, IReadOnlyList<BlkTotals> Queues);
