namespace IoVirt.Cli;

/// <summary>
/// The <c>iovirt</c> command: one subcommand per device back end, plus the demo.
/// Exit codes: 0 success, 1 failure at run time, 2 usage error.
/// </summary>
internal static class Program
{
    private const string Usage = """
        Usage: iovirt [COMMAND] [options]

        Commands:
          demo     (default) driver and device threads pushing requests through a virtqueue
          rng      serve virtio-rng over vhost-user (iovirt rng --help)
          blk      serve virtio-blk over vhost-user (iovirt blk --help)
          net      serve virtio-net over vhost-user (iovirt net --help)
          mux      serve guests' disks, volumes of one shared image, and nics, ports of one switch (iovirt mux --help);
                   iovirt mux volumes lists or removes an image's volumes
          bench-blk  load generator for any vhost-user-blk back end (iovirt bench-blk --help)

        iovirt COMMAND --help describes each command.
        """;

    private static int Main(string[] args)
    {
        var rest = args.AsSpan();
        if (!rest.IsEmpty && rest[0] is "-h" or "--help")
        {
            return Help();
        }

        var command = rest.IsEmpty || rest[0].StartsWith('-') ? "demo" : rest[0];
        if (!rest.IsEmpty && !rest[0].StartsWith('-'))
        {
            rest = rest[1..];
        }

        return command switch
        {
            "demo" => DemoCommand.Run(rest),
            "rng" => RngCommand.Run(rest),
            "blk" => BlkCommand.Run(rest),
            "net" => NetCommand.Run(rest),
            "mux" => MuxCommand.Run(rest),
            "bench-blk" => BenchBlkCommand.Run(rest),
            "help" => Help(),
            _ => UsageError($"unknown command '{command}'", Usage),
        };
    }

    private static int Help()
    {
        Console.Out.Write(Usage);
        return 0;
    }

    /// <summary>
    /// A usage error: one line saying what is wrong, one pointing to the command's --help (not the
    /// whole help text, which would bury the line); exit code 2.
    /// </summary>
    public static int UsageError(string message, string usage)
    {
        ArgumentNullException.ThrowIfNull(usage);

        // The command is the usage line's words after "Usage:" up to the first option, placeholder or choice.
        var firstLine = usage.Split('\n', 2)[0];
        var command = string.Join(' ', firstLine.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .TakeWhile(word => word[0] is not ('-' or '[') && !word.Contains('|', StringComparison.Ordinal)));
        Console.Error.WriteLine($"{command}: {message}");
        Console.Error.WriteLine($"Run '{command} --help' for the options.");
        return 2;
    }
}
