using System.CommandLine;
using IoVirt.Backends.Rng;
using IoVirt.Sandbox;

namespace IoVirt.Cli;

/// <summary><c>iovirt rng</c>: virtio-rng over vhost-user.</summary>
internal static class RngCommand
{
    public static Command Create()
    {
        var socket = new BackendSocket();
        var busyPoll = CommandLine.Int("--busy-poll", "USEC", "poll the rings USEC microseconds before sleeping (default 0)", 0, 1_000_000);
        var daemon = new DaemonOptions();
        var capabilities = CommandLine.Flag("--print-capabilities", "print the back end's capabilities as JSON and exit");
        var command = new DocumentedCommand("rng", "Serves a virtio-rng device over vhost-user on the Unix socket PATH.")
        {
            Details = """
                Entropy comes from the host kernel's getrandom. QEMU connects with
                  -chardev socket,id=rng0,path=PATH -device vhost-user-rng-pci,chardev=rng0
                (guest RAM must be shared: -object memory-backend-memfd,id=mem,size=...,share=on
                 -machine memory-backend=mem).

                The socket: a stale one at PATH is replaced; PATH holding anything else is
                refused (exit 2), and so is a socket another daemon serves (exit 1; it holds
                PATH.lock, which names it). On exit only the socket this daemon made is removed.

                On exit it prints one JSON line on stdout: requests (completed) and bytes (of
                entropy handed out); SIGUSR1 prints the same line at any time. Logs go to
                stderr. SIGTERM or SIGINT stop the back end and remove the socket file.
                Exit codes: 0 stopped by a signal, 1 could not serve, 2 usage error.

                """,
        };
        socket.AddTo(command, unless: capabilities);
        command.Add(busyPoll);
        command.Add(DaemonOptions.SettingsFile());
        daemon.AddTo(command);
        command.Add(capabilities);
        command.SetAction(result =>
        {
            if (result.GetValue(capabilities))
            {
                // The vhost-user.json schema gives "rng" no features: the type alone.
                Console.Out.WriteLine("{\n  \"type\": \"rng\"\n}");
                return 0;
            }

            if (daemon.Enter(result, NetworkAccess.None, "iovirt rng", out var sandbox) is { } sandboxExit)
            {
                return sandboxExit;
            }

            if (socket.Open(result, "iovirt rng") is not { } served)
            {
                return 2;
            }

            RngDevice? device = null;
            return DaemonHost.Run(
                served,
                _ => device = new RngDevice(),
                daemon.Telemetry(result),
                TimeSpan.FromMicroseconds(result.GetValue(busyPoll) ?? 0),
                () => DaemonHost.PrintReport(new RngReport(device?.Requests ?? 0, device?.BytesServed ?? 0), ReportJson.Default.RngReport),
                sandbox);
        });
        return command;
    }
}

/// <summary>What <c>iovirt rng</c> reports: requests completed and random bytes handed out.</summary>
internal readonly record struct RngReport(long Requests, long Bytes);
