using System.Globalization;
using IoVirt.Backends.Blk.Load;

namespace IoVirt.Cli;

/// <summary><c>iovirt bench-blk</c>: the VM-free load generator for any vhost-user-blk back end.</summary>
internal static class BenchBlkCommand
{
    public const string Usage = """
        Usage: iovirt bench-blk --socket PATH [options]

        Connects to a vhost-user-blk back end (iovirt blk, qemu-storage-daemon, SPDK...)
        as a guest driver would, keeps --iodepth requests outstanding on one queue for
        --runtime seconds after a --ramp, and reports IOPS, bandwidth and latency
        percentiles (from adding a request to the ring to seeing it used).

        Options:
          --socket PATH          the back end's socket; required
          --rw PATTERN           randread (default), randwrite, randrw (half each), read, write
          --bs SIZE              bytes per request, a multiple of 512 (default 4k)
          --iodepth N            requests outstanding, 1 to 1024 (default 1)
          --runtime S            measured seconds (default 10)
          --ramp S               seconds of load before measuring (default 1)
          --size SIZE            only address the first SIZE bytes of the device (at
                                 most its size)
          --poll                 spin on the used ring instead of sleeping on the call eventfd
          --packed               use the packed ring if the back end offers it
          --verify               stamp every written sector with its number, a generation
                                 and the device's serial, and check every read against
                                 the last write that completed (no two requests address
                                 one block at once); a wrong read is an error
          --json                 print the result as JSON
          -h, --help             show this text

        On a terminal (and without --json) it prints each second's IOPS and mean
        latency to stderr as it goes.

        Exit codes: 0 done, 1 the back end failed or stalled, a request failed or a read
        was wrong, or --size is more than the device, 2 usage error.
        """;

    private static readonly HashSet<string> ValueOptions = ["--socket", "--rw", "--bs", "--iodepth", "--runtime", "--ramp", "--size"];
    private static readonly HashSet<string> Flags = ["--poll", "--packed", "--verify", "--json", "-h", "--help"];

    public static int Run(ReadOnlySpan<string> args)
    {
        if (CommandLine.Parse(args, ValueOptions, Flags, Usage, out var line) is { } exit)
        {
            return exit;
        }

        var socket = line.Value("--socket");
        if (socket is null)
        {
            return Program.UsageError("--socket PATH is required", Usage);
        }

        if (!Enum.TryParse<BlkPattern>(line.Value("--rw") ?? "randread", ignoreCase: true, out var pattern) || !Enum.IsDefined(pattern))
        {
            return Program.UsageError($"bad --rw '{line.Value("--rw")}'", Usage);
        }

        if (!ByteSize.TryParse(line.Value("--bs") ?? "4k", out var blockSize) || blockSize == 0 || blockSize % 512 != 0 || blockSize > 16 << 20)
        {
            return Program.UsageError($"bad --bs '{line.Value("--bs")}': a multiple of 512 bytes from 512 to 16M", Usage);
        }

        ulong size = 0;
        if (line.Value("--size") is { } sizeText && !ByteSize.TryParse(sizeText, out size))
        {
            return Program.UsageError($"bad --size '{sizeText}': a size such as 256M or 1G", Usage);
        }

        if (!int.TryParse(line.Value("--iodepth") ?? "1", NumberStyles.None, CultureInfo.InvariantCulture, out var depth) || depth is < 1 or > 1024
            || !double.TryParse(line.Value("--runtime") ?? "10", NumberStyles.Float, CultureInfo.InvariantCulture, out var runtime) || runtime <= 0
            || !double.TryParse(line.Value("--ramp") ?? "1", NumberStyles.Float, CultureInfo.InvariantCulture, out var ramp) || ramp < 0)
        {
            return Program.UsageError("bad --iodepth, --runtime or --ramp value", Usage);
        }

        var options = new BlkLoadOptions
        {
            SocketPath = socket,
            Pattern = pattern,
            BlockSize = (int)blockSize,
            IoDepth = depth,
            Runtime = TimeSpan.FromSeconds(runtime),
            RampTime = TimeSpan.FromSeconds(ramp),
            Span = size,
            Poll = line.Has("--poll"),
            Packed = line.Has("--packed"),
            Verify = line.Has("--verify"),

            // A person watching a terminal sees each second go by; a script reading the result does not.
            Progress = line.Has("--json") || Console.IsOutputRedirected ? null : second => Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture, $"{second.Seconds,5:F0} s: {second.Iops,10:N0} IOPS, mean latency {second.MeanLatencyMicroseconds:F1} us")),
        };
        BlkLoadResult result;
        try
        {
            result = BlkLoadGenerator.Run(options);
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException or System.ComponentModel.Win32Exception or IoVirt.VhostUser.VhostUserProtocolException)
        {
            Console.Error.WriteLine($"iovirt bench-blk: {e.Message}");
            return 1;
        }

        if (line.Has("--json"))
        {
            Console.Out.WriteLine(result.ToJson());
        }
        else
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{pattern.ToString().ToLowerInvariant()} bs={blockSize} iodepth={depth}: {result.Iops:F0} IOPS, {result.BytesPerSecond / (1 << 20):F1} MiB/s, " +
                $"lat us mean {result.Latency.Mean / 1000:F1} p50 {result.LatencyMicroseconds(50):F1} p99 {result.LatencyMicroseconds(99):F1} p99.9 {result.LatencyMicroseconds(99.9):F1}, errors {result.Errors}"));
        }

        if (result.Verifier is { } verifier)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"iovirt bench-blk: verified {verifier.VerifiedBytes} bytes, {verifier.Mismatches} wrong sectors"));
            foreach (var mismatch in verifier.FirstMismatches)
            {
                Console.Error.WriteLine($"iovirt bench-blk: {mismatch}");
            }
        }

        return result.Errors == 0 && result.Verifier is not { Mismatches: > 0 } ? 0 : 1;
    }
}
