using System.CommandLine;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;
using IoVirt.Sandbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary><c>iovirt net</c>: virtio-net over vhost-user in front of a TAP interface, an echo, a sink or a packet source.</summary>
internal static class NetCommand
{
    private const string DefaultMac = "52:54:00:12:34:56";

    public static Command Create()
    {
        var socket = new BackendSocket();
        var tap = CommandLine.Text("--tap", "NAME", "TAP interface to use (implies --mode tap)");
        tap.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } name && !IoVirt.Interop.TapDevice.IsValidName(name))
            {
                result.AddError($"bad --tap '{name}': an interface name of 1 to 15 printable characters, no slash, colon or space");
            }
        });
        var mode = CommandLine.Text("--mode", "MODE", """
            tap, echo (every frame back to the guest, MACs swapped),
            sink (consume and count) or source (send the guest
            --frame-size UDP broadcasts as fast as it takes them)
            """);
        var mac = CommandLine.Text("--mac", "MAC", $"the device's MAC (default {DefaultMac})");
        mac.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } text && !MacAddress.TryParseUnicast(text, out _))
            {
                result.AddError($"bad --mac '{text}': six hex bytes, a unicast address");
            }
        });
        var mtu = CommandLine.Int("--mtu", "N", "MTU the device reports, 68-65535 (default 1500)", 68, 65535);
        var queues = CommandLine.Int("--queues", "N", "queue pairs, one worker thread each (default 1)", 1, 64);
        var frameSize = CommandLine.Int("--frame-size", "N", "source mode: frame size, 60-1514 (default 60)", SourcePort.MinFrame, 1514);
        var queueSize = CommandLine.Int("--queue-size", "N", "largest ring accepted (default 1024)", 2, 32768);
        var busyPoll = CommandLine.Int("--busy-poll", "USEC", """
            after work, poll the rings USEC microseconds before
            sleeping (default 32)
            """, 0, 1_000_000);
        var daemon = new DaemonOptions();
        var capabilities = CommandLine.Flag("--print-capabilities", "print the back end's capabilities as JSON and exit");
        var command = new DocumentedCommand("net", "Serves a virtio-net device over vhost-user on the Unix socket PATH.")
        {
            Details = """
                With --tap its frames go to and come from the TAP interface NAME (created in
                the caller's network namespace if it does not exist; offloads pass through);
                without, the device answers itself (--mode, default echo). QEMU connects with
                  -chardev socket,id=net0,path=PATH -netdev vhost-user,id=n0,chardev=net0
                  -device virtio-net-pci,netdev=n0
                (guest RAM must be shared: -object memory-backend-memfd,id=mem,size=...,share=on
                 -machine memory-backend=mem; on QEMU 7.2 under TCG add vectors=0 to the device).

                The socket: a stale one at PATH is replaced; PATH holding anything else is
                refused (exit 2), and so is a socket another daemon serves (exit 1; it holds
                PATH.lock, which names it). On exit only the socket this daemon made is removed.

                On exit it prints one JSON line of counters on stdout: txFrames, txBytes,
                txDropped (the port was full), txInvalid (bad chain or header), rxFrames,
                rxBytes, rxDropped (receive buffers too small), rxFiltered (refused by the
                guest's filter); SIGUSR1 prints the same line at any time. Logs go to stderr.
                SIGTERM or SIGINT stop the back end and remove the socket file. Exit codes: 0
                stopped by a signal, 1 could not serve, 2 usage error.

                """,
        };
        Option[] options = [tap, mode, mac, mtu, queues, frameSize, queueSize, busyPoll];
        socket.AddTo(command, unless: capabilities);
        Array.ForEach(options, command.Add);
        command.Add(DaemonOptions.SettingsFile());
        daemon.AddTo(command);
        command.Add(capabilities);
        command.Validators.Add(result =>
        {
            var name = result.GetValue(tap);
            var chosen = result.GetValue(mode) ?? (name is null ? "echo" : "tap");
            if (chosen is not ("tap" or "echo" or "sink" or "source") || (chosen == "tap") != (name is not null))
            {
                result.AddError($"bad --mode '{chosen}' (tap needs --tap NAME, the others exclude it)");
            }
        });
        command.SetAction(result =>
        {
            if (result.GetValue(capabilities))
            {
                Console.Out.WriteLine("{\n  \"type\": \"net\"\n}");
                return 0;
            }

            var name = result.GetValue(tap);
            var chosen = result.GetValue(mode) ?? (name is null ? "echo" : "tap");

            // The namespaces before the port opens; a TAP lives in the host's network namespace, so it is kept.
            if (daemon.Enter(result, chosen == "tap" ? NetworkAccess.Host : NetworkAccess.None, "iovirt net", out var sandbox) is { } sandboxExit)
            {
                return sandboxExit;
            }

            var macText = result.GetValue(mac) ?? DefaultMac;
            _ = MacAddress.TryParseUnicast(macText, out var macAddress);
            var options = new NetDeviceOptions
            {
                Mac = macAddress,
                Mtu = result.GetValue(mtu) ?? 1500,
                QueuePairs = result.GetValue(queues) ?? 1,
                MaxQueueSize = result.GetValue(queueSize) ?? 1024,
            };
            var busy = result.GetValue(busyPoll) is { } microseconds ? TimeSpan.FromMicroseconds(microseconds) : NetDevice.DefaultBusyPoll;
            if (socket.Open(result, "iovirt net") is not { } served)
            {
                return 2;
            }

            return Serve(served, chosen, name, result.GetValue(frameSize) ?? SourcePort.MinFrame, macText, options, busy, daemon.Telemetry(result), sandbox);
        });
        return command;
    }

    private static int Serve(ServedSocket socket, string mode, string? tap, int frameSize, string macText, NetDeviceOptions options, TimeSpan busyPoll, DaemonTelemetry telemetry, DaemonSandbox sandbox)
    {
        INetPort port;
        try
        {
            port = mode switch
            {
                "tap" => new TapPort(tap!, options.QueuePairs),
                "sink" => new SinkPort(),
                "source" => new SourcePort(options.QueuePairs, frameSize, options.Mac),
                _ => new EchoPort(options.QueuePairs, NetTransmitCheck.FrameFor(options.Mtu)),
            };
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or ArgumentException)
        {
            Console.Error.WriteLine($"iovirt net: {e.Message}");
            return 1;
        }

        using (port)
        {
            NetDevice? device = null;
            return DaemonHost.Run(
                socket,
                services =>
                {
                    var log = services.GetRequiredService<ILoggerFactory>().CreateLogger("net");
                    device = new NetDevice(port, options, log);
                    services.GetRequiredService<NetMetrics>().Add(device, socket.Path);
                    log.LogInformation("serving {Port}, MAC {Mac}, MTU {Mtu}", port.Description, macText, options.Mtu);
                    return device;
                },
                telemetry,
                busyPoll,
                () => DaemonHost.PrintReport(device?.Totals ?? default, ReportJson.Default.NetTotals),
                sandbox);
        }
    }
}
