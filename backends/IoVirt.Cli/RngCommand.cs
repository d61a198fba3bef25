using IoVirt.Backends.Rng;

namespace IoVirt.Cli;

/// <summary><c>iovirt rng</c>: virtio-rng over vhost-user.</summary>
internal static class RngCommand
{
    public const string Usage = $$"""
        Usage: iovirt rng --socket PATH [options]

        Serves a virtio-rng device (entropy from the host kernel's getrandom) over
        vhost-user on the Unix socket PATH. QEMU connects with
          -chardev socket,id=rng0,path=PATH -device vhost-user-rng-pci,chardev=rng0
        (guest RAM must be shared: -object memory-backend-memfd,id=mem,size=...,share=on
         -machine memory-backend=mem).

        Options:
          --socket PATH          socket to listen on (also --socket-path=PATH); required
          --busy-poll USEC       poll the rings USEC microseconds before sleeping (default 0)
          --log-level LEVEL      trace, debug, information, warning, error (default information)
          {{SandboxOptions.Help}}
          --print-capabilities   print the back end's capabilities as JSON and exit
          -h, --help             show this text

        The socket: a stale one at PATH is replaced; PATH holding anything else is
        refused (exit 2), and so is a socket another daemon serves (exit 1; it holds
        PATH.lock, which names it). On exit only the socket this daemon made is removed.

        On exit it prints one JSON line on stdout: requests (completed) and bytes (of
        entropy handed out); SIGUSR1 prints the same line at any time. Logs go to
        stderr. SIGTERM or SIGINT stop the back end and remove the socket file.
        Exit codes: 0 stopped by a signal, 1 could not serve, 2 usage error.
        """;

    private static readonly HashSet<string> ValueOptions = ["--socket", "--socket-path", "--busy-poll", "--log-level", .. SandboxOptions.ValueOptions];
    private static readonly HashSet<string> Flags = ["--print-capabilities", "-h", "--help"];

    public static int Run(ReadOnlySpan<string> args)
    {
        if (CommandLine.Parse(args, ValueOptions, Flags, Usage, out var line) is { } exit)
        {
            return exit;
        }

        if (line.Has("--print-capabilities"))
        {
            Console.Out.WriteLine("{\n  \"type\": \"rng\",\n  \"features\": []\n}");
            return 0;
        }

        var socket = line.Value("--socket") ?? line.Value("--socket-path");
        if (socket is null)
        {
            return Program.UsageError("--socket PATH is required", Usage);
        }

        if (SandboxOptions.Enter(line, needsHostNetwork: false, "iovirt rng", Usage, out var sandbox) is { } sandboxExit)
        {
            return sandboxExit;
        }

        if (!DaemonHost.TryParseLevel(line.Value("--log-level"), out var level))
        {
            return Program.UsageError($"bad --log-level '{line.Value("--log-level")}'", Usage);
        }

        var micros = 0;
        if (line.Value("--busy-poll") is { } busyPoll && (!int.TryParse(busyPoll, System.Globalization.CultureInfo.InvariantCulture, out micros) || micros < 0))
        {
            return Program.UsageError($"bad --busy-poll '{busyPoll}'", Usage);
        }

        RngDevice? device = null;
        return DaemonHost.Run(
            socket,
            _ => device = new RngDevice(),
            level,
            TimeSpan.FromMicroseconds(micros),
            () => DaemonHost.PrintReport(new RngReport(device?.Requests ?? 0, device?.BytesServed ?? 0)),
            sandbox);
    }
}

/// <summary>What <c>iovirt rng</c> reports: requests completed and random bytes handed out.</summary>
internal readonly record struct RngReport(long Requests, long Bytes);
