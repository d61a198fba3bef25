using IoVirt.Backends.Blk;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary><c>iovirt blk</c>: virtio-blk over vhost-user on an image, a block device or a RAM disk.</summary>
internal static class BlkCommand
{
    /// <summary>Size of the RAM disk served when no image is given.</summary>
    public const string DefaultRamSize = "512M";

    /// <summary>
    /// Polling this long after work turns a request that follows soon into one the worker sees
    /// without a wake-up (QD1 latency: about 2 µs instead of 5-15 here); idle queues still sleep.
    /// Not for io_uring: its completions wake the worker anyway, and a spinning worker takes the
    /// CPU from io_uring's own worker threads.
    /// </summary>
    private const int DefaultBusyPollMicroseconds = 32;

    public const string Usage = $$"""
        Usage: iovirt blk --socket PATH [--image FILE | --ram SIZE] [options]

        Serves a virtio-blk device over vhost-user on the Unix socket PATH. With no
        --image it serves a RAM disk of 512 MiB (or --ram SIZE), zero-filled, whose
        pages exist once written. QEMU connects with
          -chardev socket,id=blk0,path=PATH -device vhost-user-blk-pci,chardev=blk0
        (guest RAM must be shared: -object memory-backend-memfd,id=mem,size=...,share=on
         -machine memory-backend=mem); add reconnect=1 to the chardev so QEMU comes
        back to a restarted back end, which re-runs the requests left in flight.

        Options:
          --socket PATH          socket to listen on (also --socket-path=PATH); required
          --image FILE           raw image file or block device (also --blk-file FILE);
                                 locked so a second back end cannot serve it too
          --ram SIZE             RAM disk size, e.g. 64M, 2G (default 512M)
          --readonly             refuse writes, discards and write-zeroes (also --read-only)
          --queues N             request queues, one worker thread each (default 1)
          --direct               O_DIRECT for block-aligned requests (bypass the page cache)
          --serial ID            GET_ID string, up to 20 ASCII bytes (default iovirt)
          --engine NAME          auto (default: mapped for an image in RAM, uring otherwise),
                                 uring (falls back to sync where io_uring is unavailable),
                                 sync (preadv2/pwritev2 on the queue's thread), mapped
                                 (tmpfs or RAM disk only: copies through a mapping), or
                                 null (complete every request without I/O: the path alone)
          --queue-size N         largest ring accepted (default 1024)
          --busy-poll USEC       after work, poll the rings USEC microseconds before sleeping
                                 (default 32, as QEMU's iothreads, or 0 with the uring engine)
          --log-level LEVEL      trace, debug, information, warning, error (default information)
          {{SandboxOptions.Help}}
          --print-capabilities   print the back end's capabilities as JSON and exit
          -h, --help             show this text

        Writes complete once done on the image; with the guest's write cache off they
        complete once durable, and FLUSH is an fdatasync of all completed writes.

        The socket: a stale one at PATH is replaced; PATH holding anything else is
        refused (exit 2), and so is a socket another daemon serves (exit 1; it holds
        PATH.lock, which names it). On exit only the socket this daemon made is removed.

        On exit it prints one JSON line of counters on stdout: "totals" and, for each
        queue, "queues": reads, writes, flushes, discards (discard and write-zeroes
        requests), errorsReported (completed with IOERR or UNSUPP) and badRequests
        (chains without a usable status byte); SIGUSR1 prints the same line at any
        time. Logs go to stderr. SIGTERM or SIGINT stop the back end and remove the
        socket file. Exit codes: 0 stopped by a signal, 1 could not serve, 2 usage
        error.
        """;

    private static readonly HashSet<string> ValueOptions =
        ["--socket", "--socket-path", "--image", "--blk-file", "--ram", "--queues", "--serial", "--engine", "--queue-size", "--busy-poll", "--log-level", .. SandboxOptions.ValueOptions];

    private static readonly HashSet<string> Flags = ["--readonly", "--read-only", "--direct", "--print-capabilities", "-h", "--help"];

    /// <summary>The busy polling that suits <paramref name="engine"/> on <paramref name="store"/>, in microseconds.</summary>
    public static int DefaultBusyPoll(BlockEngineKind engine, BlockStore store) =>
        BlkDevice.ResolveEngine(engine, store) == BlockEngineKind.Uring ? 0 : DefaultBusyPollMicroseconds;

    public static int Run(ReadOnlySpan<string> args)
    {
        if (CommandLine.Parse(args, ValueOptions, Flags, Usage, out var line) is { } exit)
        {
            return exit;
        }

        if (line.Has("--print-capabilities"))
        {
            // The vhost-user.json schema's "block" type: --read-only and --blk-file are supported.
            Console.Out.WriteLine("{\n  \"type\": \"block\",\n  \"features\": [\n    \"read-only\",\n    \"blk-file\"\n  ]\n}");
            return 0;
        }

        var socket = line.Value("--socket") ?? line.Value("--socket-path");
        if (socket is null)
        {
            return Program.UsageError("--socket PATH is required", Usage);
        }

        // The namespaces first: everything after runs in the re-executed program, and opens there.
        if (SandboxOptions.Enter(line, needsHostNetwork: false, "iovirt blk", Usage, out var sandbox) is { } sandboxExit)
        {
            return sandboxExit;
        }

        var image = line.Value("--image") ?? line.Value("--blk-file");
        var ram = line.Value("--ram");
        if (image is not null && ram is not null)
        {
            return Program.UsageError("--image and --ram exclude each other", Usage);
        }

        if (!ByteSize.TryParse(ram ?? DefaultRamSize, out var ramBytes))
        {
            return Program.UsageError($"bad --ram '{ram}': a size such as 64M or 2G", Usage);
        }

        if (image is null)
        {
            if (RamDiskSize.Check(ramBytes, out var ramWarning) is { Length: > 0 } ramProblem)
            {
                return Program.UsageError($"bad --ram '{ram ?? DefaultRamSize}': {ramProblem}", Usage);
            }

            if (ramWarning is not null)
            {
                Console.Error.WriteLine($"iovirt blk: warning: {ramWarning}");
            }
        }

        if (!line.TryInt("--queues", 1, 1, 64, out var queues)
            || !line.TryInt("--queue-size", 1024, 2, 32768, out var queueSize)
            || !line.TryInt("--busy-poll", -1, 0, 1_000_000, out var busyPoll))
        {
            return Program.UsageError("bad --queues, --queue-size or --busy-poll value", Usage);
        }

        if (!Enum.TryParse<BlockEngineKind>(line.Value("--engine") ?? "auto", ignoreCase: true, out var engine) || !Enum.IsDefined(engine))
        {
            return Program.UsageError($"bad --engine '{line.Value("--engine")}'", Usage);
        }

        if (!DaemonHost.TryParseLevel(line.Value("--log-level"), out var level))
        {
            return Program.UsageError($"bad --log-level '{line.Value("--log-level")}'", Usage);
        }

        var serial = line.Value("--serial") ?? "iovirt";
        if (serial.Length > 20 || !System.Text.Ascii.IsValid(serial))
        {
            return Program.UsageError("--serial is at most 20 ASCII characters", Usage);
        }

        var readOnly = line.Has("--readonly") || line.Has("--read-only");
        BlockStore store;
        try
        {
            store = image is null ? BlockStore.CreateRam(ramBytes, readOnly) : BlockStore.Open(image, readOnly, line.Has("--direct"));
        }
        catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"iovirt blk: {e.Message}");
            return 1;
        }

        if (engine == BlockEngineKind.Mapped && !store.Buffered.IsMemoryBacked)
        {
            store.Dispose();
            return Program.UsageError($"--engine mapped needs an image in RAM (tmpfs or --ram); {image} is not", Usage);
        }

        if (engine == BlockEngineKind.Mapped && store.WhyNotMappable is { Length: > 0 } unmappable)
        {
            store.Dispose();
            Console.Error.WriteLine($"iovirt blk: --engine mapped cannot serve it: {unmappable}");
            return 1;
        }

        if (busyPoll < 0)
        {
            busyPoll = DefaultBusyPoll(engine, store);
        }

        using (store)
        {
            var options = new BlkDeviceOptions { Queues = queues, ReadOnly = readOnly, Serial = serial, Engine = engine, MaxQueueSize = queueSize };
            // The service container owns the device and disposes it after the server.
            BlkDevice? device = null;
            return DaemonHost.Run(
                socket,
                services =>
                {
                    var log = services.GetRequiredService<ILoggerFactory>().CreateLogger("blk");
                    device = new BlkDevice(store, options, log);
                    log.LogInformation(
                        "serving {Image}: {Bytes} bytes, {Queues} queue(s), {Engine} engine{ReadOnly}",
                        store.Name, store.Size, queues, device.Engine, readOnly ? ", read-only" : string.Empty);
                    return device;
                },
                level,
                TimeSpan.FromMicroseconds(busyPoll),
                () => DaemonHost.PrintReport(device is null ? new BlkReport(default, []) : new BlkReport(device.Totals, [.. device.Counters.Select(q => q.Snapshot())])),
                sandbox);
        }
    }
}

/// <summary>What <c>iovirt blk</c> reports: the device's request counters, and each queue's.</summary>
internal sealed record BlkReport(BlkTotals Totals, IReadOnlyList<BlkTotals> Queues);
