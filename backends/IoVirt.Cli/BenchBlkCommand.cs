using System.Globalization;
using System.CommandLine;
using IoVirt.Backends.Blk.Load;

namespace IoVirt.Cli;

/// <summary><c>iovirt bench-blk</c>: the VM-free load generator for any vhost-user-blk back end.</summary>
internal static class BenchBlkCommand
{
    public static Command Create()
    {
        var socket = CommandLine.Text("--socket", "PATH", "the back end's socket; required");
        var rw = CommandLine.Parsed<BlkPattern>("--rw", "PATTERN", "randread (default), randwrite, randrw (half each), read, write", ParsePattern);
        var bs = CommandLine.Parsed<ulong>("--bs", "SIZE", "bytes per request, a multiple of 512 (default 4k)", ParseBlockSize);
        var iodepth = CommandLine.Int("--iodepth", "N", "requests outstanding on each queue, 1 to 1024 (default 1)", 1, 1024);
        var queues = CommandLine.Int("--queues", "N", """
            request queues, 1 to 64 (default 1), each driven by a
            thread of its own over its own part of the device; more
            than one needs as many queues on the back end
            """, 1, 64);
        var runtime = CommandLine.Parsed<double>("--runtime", "S", "measured seconds (default 10)", (string text, out string why) => ParseSeconds(text, positive: true, out why));
        var ramp = CommandLine.Parsed<double>("--ramp", "S", "seconds of load before measuring (default 1)", (string text, out string why) => ParseSeconds(text, positive: false, out why));
        var size = CommandLine.Parsed<ulong>("--size", "SIZE", """
            only address the first SIZE bytes of the device (at
            most its size)
            """, ParseSize);
        var poll = CommandLine.Flag("--poll", "spin on the used ring instead of sleeping on the call eventfd");
        var packed = CommandLine.Flag("--packed", "use the packed ring if the back end offers it");
        var verify = CommandLine.Flag("--verify", """
            stamp every written sector with its number, a generation
            and the device's serial, and check every read against
            the last write that completed (no two requests address
            one block at once); a wrong read is an error
            """);
        var json = CommandLine.Flag("--json", "print the result as JSON");
        var command = new DocumentedCommand("bench-blk", "Load generator for any vhost-user-blk back end.")
        {
            Details = """
                Connects to a vhost-user-blk back end (iovirt blk, qemu-storage-daemon, SPDK...)
                as a guest driver would, keeps --iodepth requests outstanding on each of --queues
                queues for --runtime seconds after a --ramp, and reports IOPS, bandwidth and
                latency percentiles (from adding a request to the ring to seeing it used), summed
                over the queues.

                On a terminal (and without --json) it prints each second's IOPS and mean
                latency to stderr as it goes.

                Exit codes: 0 done, 1 the back end failed or stalled, a request failed or a read
                was wrong, or --size is more than the device, 2 usage error.

                """,
        };
        Option[] options = [socket, rw, bs, iodepth, queues, runtime, ramp, size, poll, packed, verify, json];
        Array.ForEach(options, command.Add);
        CommandLine.Require(command, socket);
        command.SetAction(result => Run(new BlkLoadOptions
        {
            SocketPath = result.GetRequiredValue(socket),
            Pattern = result.GetValue(rw) ?? BlkPattern.RandRead,
            BlockSize = (int)(result.GetValue(bs) ?? 4096),
            IoDepth = result.GetValue(iodepth) ?? 1,
            Queues = result.GetValue(queues) ?? 1,
            Runtime = TimeSpan.FromSeconds(result.GetValue(runtime) ?? 10),
            RampTime = TimeSpan.FromSeconds(result.GetValue(ramp) ?? 1),
            Span = result.GetValue(size) ?? 0,
            Poll = result.GetValue(poll),
            Packed = result.GetValue(packed),
            Verify = result.GetValue(verify),

            // A person watching a terminal sees each second go by; a script reading the result does not.
            Progress = result.GetValue(json) || Console.IsOutputRedirected ? null : second => Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture, $"{second.Seconds,5:F0} s: {second.Iops,10:N0} IOPS, mean latency {second.MeanLatencyMicroseconds:F1} us")),
        }, result.GetValue(json)));
        return command;
    }

    private static int Run(BlkLoadOptions options, bool json)
    {
        var pattern = options.Pattern;
        var blockSize = options.BlockSize;
        var depth = options.IoDepth;
        var queueText = options.Queues > 1 ? $" queues={options.Queues}" : "";
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

        if (json)
        {
            Console.Out.WriteLine(result.ToJson());
        }
        else
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{pattern.ToString().ToLowerInvariant()} bs={blockSize} iodepth={depth}{queueText}: {result.Iops:F0} IOPS, {result.BytesPerSecond / (1 << 20):F1} MiB/s, " +
                $"lat us mean {result.Latency.Mean / 1000:F1} p50 {result.LatencyMicroseconds(50):F1} p99 {result.LatencyMicroseconds(99):F1} p99.9 {result.LatencyMicroseconds(99.9):F1}, errors {result.Errors}"));
        }

        if (result.Verifiers.Count > 0)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"iovirt bench-blk: verified {result.VerifiedBytes} bytes, {result.Mismatches} wrong sectors"));
            foreach (var mismatch in result.Verifiers.SelectMany(verifier => verifier.FirstMismatches))
            {
                Console.Error.WriteLine($"iovirt bench-blk: {mismatch}");
            }
        }

        return result.Errors == 0 && result.Mismatches == 0 ? 0 : 1;
    }

    private static BlkPattern? ParsePattern(string text, out string why)
    {
        why = "randread, randwrite, randrw, read or write";
        return Enum.TryParse<BlkPattern>(text, ignoreCase: true, out var pattern) && Enum.IsDefined(pattern) ? pattern : null;
    }

    private static ulong? ParseBlockSize(string text, out string why)
    {
        why = "a multiple of 512 bytes from 512 to 16M";
        return ByteSize.TryParse(text, out var bytes) && bytes != 0 && bytes % 512 == 0 && bytes <= 16 << 20 ? bytes : null;
    }

    private static ulong? ParseSize(string text, out string why)
    {
        why = "a size such as 256M or 1G";
        return ByteSize.TryParse(text, out var bytes) ? bytes : null;
    }

    private static double? ParseSeconds(string text, bool positive, out string why)
    {
        why = positive ? "a number of seconds above 0" : "a number of seconds, 0 or more";
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && (positive ? seconds > 0 : seconds >= 0) ? seconds : null;
    }
}
