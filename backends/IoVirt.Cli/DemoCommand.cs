using System.CommandLine;
using System.Globalization;
using IoVirt.Cli.Demo;

namespace IoVirt.Cli;

/// <summary><c>iovirt demo</c>: a driver and a device thread over one queue.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var requests = CommandLine.Parsed<long>("--requests", "N", "requests per ring format (default 1000000)", ParseRequests);
        var queueSize = CommandLine.Int("--queue-size", "N", "ring entries, 1..32768; power of two for split (default 256)", 1, 32768);
        var format = CommandLine.Text("--format", "F", "split, packed or both (default both)");
        format.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } text and not ("split" or "packed" or "both"))
            {
                result.AddError($"bad --format '{text}': split, packed or both");
            }
        });
        var command = new DocumentedCommand("demo", "Runs the demo: a driver and a device thread push requests through a virtqueue.")
        {
            Details = """
                A driver thread and a device thread push 1,000,000 requests through a split and
                then a packed virtqueue in shared memory, checking every answer, and print the rate.

                Exit codes: 0 success, 1 a check failed, 2 usage error.

                """,
        };
        command.Add(requests);
        command.Add(queueSize);
        command.Add(format);
        command.Validators.Add(result =>
        {
            var size = result.GetValue(queueSize) ?? 256;
            if (result.GetValue(format) != "packed" && (size & (size - 1)) != 0)
            {
                result.AddError("a split ring's size must be a power of two");
            }
        });
        command.SetAction(result =>
        {
            var count = result.GetValue(requests) ?? 1_000_000;
            var size = result.GetValue(queueSize) ?? 256;
            var which = result.GetValue(format) ?? "both";
            var status = 0;
            if (which is "split" or "both")
            {
                status |= new QueueDemo(packed: false, size, count, Console.Out).Run();
            }

            if (which is "packed" or "both")
            {
                status |= new QueueDemo(packed: true, size, count, Console.Out).Run();
            }

            return status;
        });
        return command;
    }

    private static long? ParseRequests(string text, out string why)
    {
        why = "a positive whole number";
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0 ? count : null;
    }
}
