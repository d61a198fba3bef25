using System.CommandLine;

namespace IoVirt.Cli;

/// <summary>
/// The <c>iovirt</c> command: one subcommand per device back end, plus the demo. Alone, it prints
/// its help. Exit codes: 0 success, 1 failure at run time, 2 usage error.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("IoVirt's programs: vhost-user back ends for virtio devices, a load generator and a demo.");
        root.Add(DemoCommand.Create());
        root.Add(RngCommand.Create());
        root.Add(GpuCommand.Create());
        root.Add(BlkCommand.Create());
        root.Add(NetCommand.Create());
        root.Add(MuxCommand.Create());
        root.Add(BenchBlkCommand.Create());
        root.Add(BenchGpuCommand.Create());
        root.Add(VmmCommand.Create());

        // "iovirt help" as before, and "iovirt" alone: the help.
        var help = new Command("help", "show this text") { Hidden = true };
        help.SetAction(_ => root.Parse(["--help"]).Invoke());
        root.Add(help);
        root.SetAction(CommandLine.Help);
        return CommandLine.Run(root, args);
    }
}
