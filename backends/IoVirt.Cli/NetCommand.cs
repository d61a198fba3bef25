using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary><c>iovirt net</c>: virtio-net over vhost-user in front of a TAP interface, an echo, a sink or a packet source.</summary>
internal static class NetCommand
{
    public const int DefaultBusyPollMicroseconds = 32;

    public const string Usage = $$"""
        Usage: iovirt net --socket PATH [--tap NAME | --mode echo|sink|source] [options]

        Serves a virtio-net device over vhost-user on the Unix socket PATH. With --tap
        its frames go to and come from the TAP interface NAME (created in the caller's
        network namespace if it does not exist; offloads pass through); without, the
        device answers itself (--mode, default echo). QEMU connects with
          -chardev socket,id=net0,path=PATH -netdev vhost-user,id=n0,chardev=net0
          -device virtio-net-pci,netdev=n0
        (guest RAM must be shared: -object memory-backend-memfd,id=mem,size=...,share=on
         -machine memory-backend=mem; on QEMU 7.2 under TCG add vectors=0 to the device).

        Options:
          --socket PATH          socket to listen on (also --socket-path=PATH); required
          --tap NAME             TAP interface to use (implies --mode tap)
          --mode MODE            tap, echo (every frame back to the guest, MACs swapped),
                                 sink (consume and count) or source (send the guest
                                 --frame-size UDP broadcasts as fast as it takes them)
          --mac MAC              the device's MAC (default 52:54:00:12:34:56)
          --mtu N                MTU the device reports, 68-65535 (default 1500)
          --queues N             queue pairs, one worker thread each (default 1)
          --frame-size N         source mode: frame size, 60-1514 (default 60)
          --queue-size N         largest ring accepted (default 1024)
          --busy-poll USEC       after work, poll the rings USEC microseconds before
                                 sleeping (default 32)
          --log-level LEVEL      trace, debug, information, warning, error (default information)
          {{SandboxOptions.Help}}
          --print-capabilities   print the back end's capabilities as JSON and exit
          -h, --help             show this text

        The socket: a stale one at PATH is replaced; PATH holding anything else is
        refused (exit 2), and so is a socket another daemon serves (exit 1; it holds
        PATH.lock, which names it). On exit only the socket this daemon made is removed.

        On exit it prints one JSON line of counters on stdout: txFrames, txBytes,
        txDropped (the port was full), txInvalid (bad chain or header), rxFrames,
        rxBytes, rxDropped (receive buffers too small), rxFiltered (refused by the
        guest's filter); SIGUSR1 prints the same line at any time. Logs go to stderr.
        SIGTERM or SIGINT stop the back end and remove the socket file. Exit codes: 0 stopped by a signal, 1 could not serve,
        2 usage error.
        """;

    private static readonly HashSet<string> ValueOptions =
        ["--socket", "--socket-path", "--tap", "--mode", "--mac", "--mtu", "--queues", "--frame-size", "--queue-size", "--busy-poll", "--log-level", .. SandboxOptions.ValueOptions];

    private static readonly HashSet<string> Flags = ["--print-capabilities", "-h", "--help"];

    public static int Run(ReadOnlySpan<string> args)
    {
        if (CommandLine.Parse(args, ValueOptions, Flags, Usage, out var line) is { } exit)
        {
            return exit;
        }

        if (line.Has("--print-capabilities"))
        {
            Console.Out.WriteLine("{\n  \"type\": \"net\"\n}");
            return 0;
        }

        var socket = line.Value("--socket") ?? line.Value("--socket-path");
        if (socket is null)
        {
            return Program.UsageError("--socket PATH is required", Usage);
        }

        var tap = line.Value("--tap");
        if (tap is not null && !IoVirt.Interop.TapDevice.IsValidName(tap))
        {
            return Program.UsageError($"bad --tap '{tap}': an interface name of 1 to 15 printable characters, no slash, colon or space", Usage);
        }

        var mode = line.Value("--mode") ?? (tap is null ? "echo" : "tap");
        if (mode is not ("tap" or "echo" or "sink" or "source") || (mode == "tap") != (tap is not null))
        {
            return Program.UsageError($"bad --mode '{mode}' (tap needs --tap NAME, the others exclude it)", Usage);
        }

        if (!line.TryInt("--mtu", 1500, 68, 65535, out var mtu)
            || !line.TryInt("--queues", 1, 1, 64, out var pairs)
            || !line.TryInt("--frame-size", SourcePort.MinFrame, SourcePort.MinFrame, 1514, out var frameSize)
            || !line.TryInt("--queue-size", 1024, 2, 32768, out var queueSize)
            || !line.TryInt("--busy-poll", DefaultBusyPollMicroseconds, 0, 1_000_000, out var busyPoll))
        {
            return Program.UsageError("bad --mtu, --queues, --frame-size, --queue-size or --busy-poll value", Usage);
        }

        if (!MacAddress.TryParseUnicast(line.Value("--mac") ?? "52:54:00:12:34:56", out var mac))
        {
            return Program.UsageError($"bad --mac '{line.Value("--mac")}': six hex bytes, a unicast address", Usage);
        }

        if (!DaemonHost.TryParseLevel(line.Value("--log-level"), out var level))
        {
            return Program.UsageError($"bad --log-level '{line.Value("--log-level")}'", Usage);
        }

        // The namespaces before the port opens; a TAP lives in the host's network namespace, so it is kept.
        if (SandboxOptions.Enter(line, needsHostNetwork: mode == "tap", "iovirt net", Usage, out var sandbox) is { } sandboxExit)
        {
            return sandboxExit;
        }

        INetPort port;
        try
        {
            port = mode switch
            {
                "tap" => new TapPort(tap!, pairs),
                "sink" => new SinkPort(),
                "source" => new SourcePort(pairs, frameSize, mac),
                _ => new EchoPort(pairs, NetTransmitCheck.FrameFor(mtu)),
            };
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or ArgumentException)
        {
            Console.Error.WriteLine($"iovirt net: {e.Message}");
            return 1;
        }

        using (port)
        {
            var options = new NetDeviceOptions { Mac = mac, Mtu = mtu, QueuePairs = pairs, MaxQueueSize = queueSize };
            NetDevice? device = null;
            return DaemonHost.Run(
                socket,
                services =>
                {
                    var log = services.GetRequiredService<ILoggerFactory>().CreateLogger("net");
                    device = new NetDevice(port, options, log);
                    log.LogInformation("serving {Port}, MAC {Mac}, MTU {Mtu}", port.Description, line.Value("--mac") ?? "52:54:00:12:34:56", mtu);
                    return device;
                },
                level,
                TimeSpan.FromMicroseconds(busyPoll),
                () => DaemonHost.PrintReport(device?.Totals ?? default),
                sandbox);
        }
    }
}
