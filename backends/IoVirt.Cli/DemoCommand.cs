using System.Globalization;
using IoVirt.Cli.Demo;

namespace IoVirt.Cli;

/// <summary><c>iovirt demo</c> (also <c>iovirt</c> alone): a driver and a device thread over one queue.</summary>
internal static class DemoCommand
{
    public const string Usage = """
        Usage: iovirt [demo] [options]

        With no arguments, runs the demo: a driver thread and a device thread push
        1,000,000 requests through a split and then a packed virtqueue in shared memory,
        checking every answer, and print the rate.

        Options:
          --requests N       requests per ring format (default 1000000)
          --queue-size N     ring entries, 1..32768; power of two for split (default 256)
          --format F         split, packed or both (default both)
          -h, --help         show this text

        Exit codes: 0 success, 1 a check failed, 2 usage error.
        """;

    private static readonly HashSet<string> ValueOptions = ["--requests", "--queue-size", "--format"];
    private static readonly HashSet<string> Flags = ["-h", "--help"];

    public static int Run(ReadOnlySpan<string> args)
    {
        if (CommandLine.Parse(args, ValueOptions, Flags, Usage, out var line) is { } exit)
        {
            return exit;
        }

        var requests = 1_000_000L;
        var queueSize = 256;
        var format = line.Value("--format") ?? "both";
        if ((line.Value("--requests") is { } r && (!long.TryParse(r, CultureInfo.InvariantCulture, out requests) || requests <= 0))
            || (line.Value("--queue-size") is { } q && (!int.TryParse(q, CultureInfo.InvariantCulture, out queueSize) || queueSize is < 1 or > 32768))
            || format is not ("split" or "packed" or "both"))
        {
            return Program.UsageError("bad option value", Usage);
        }

        if (format != "packed" && (queueSize & (queueSize - 1)) != 0)
        {
            return Program.UsageError("a split ring's size must be a power of two", Usage);
        }

        var status = 0;
        if (format is "split" or "both")
        {
            status |= new QueueDemo(packed: false, queueSize, requests, Console.Out).Run();
        }

        if (format is "packed" or "both")
        {
            status |= new QueueDemo(packed: true, queueSize, requests, Console.Out).Run();
        }

        return status;
    }
}
