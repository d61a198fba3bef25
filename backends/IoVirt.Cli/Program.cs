using IoVirt.Cli.Demo;

namespace IoVirt.Cli;

/// <summary>
/// The <c>iovirt</c> command. Exit codes: 0 success, 1 the run failed (a check did not hold),
/// 2 usage error.
/// </summary>
internal static class Program
{
    private const string Usage = """
        Usage: iovirt [demo] [options]

        With no arguments, runs the demo: a driver thread and a device thread push
        1,000,000 requests through a split and then a packed virtqueue in shared memory,
        checking every answer, and print the rate.

        Options (demo):
          --requests N       requests per ring format (default 1000000)
          --queue-size N     ring entries, 1..32768; power of two for split (default 256)
          --format F         split, packed or both (default both)
          -h, --help         show this text

        Exit codes: 0 success, 1 a check failed, 2 usage error.
        """;

    private static int Main(string[] args)
    {
        var rest = args.AsSpan();
        if (!rest.IsEmpty && rest[0] == "demo")
        {
            rest = rest[1..];
        }

        long requests = 1_000_000;
        var queueSize = 256;
        var format = "both";
        for (var i = 0; i < rest.Length; i++)
        {
            var option = rest[i];
            if (option is "-h" or "--help")
            {
                Console.Out.Write(Usage);
                return 0;
            }

            if (i + 1 >= rest.Length)
            {
                return Fail($"unknown or incomplete option '{option}'");
            }

            var value = rest[++i];
            switch (option)
            {
                case "--requests" when long.TryParse(value, out requests) && requests > 0:
                    break;
                case "--queue-size" when int.TryParse(value, out queueSize) && queueSize is >= 1 and <= 32768:
                    break;
                case "--format" when value is "split" or "packed" or "both":
                    format = value;
                    break;
                default:
                    return Fail($"bad option or value: {option} {value}");
            }
        }

        if (format != "packed" && (queueSize & (queueSize - 1)) != 0)
        {
            return Fail("a split ring's size must be a power of two");
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

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"iovirt: {message}");
        Console.Error.Write(Usage);
        return 2;
    }
}
