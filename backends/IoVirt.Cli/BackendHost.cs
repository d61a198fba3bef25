using System.Runtime.InteropServices;
using System.Text.Json;
using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Sandbox;
using IoVirt.VhostUser;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary>A device to serve and the socket it is served on.</summary>
internal sealed record HostedDevice(string SocketPath, Func<IServiceProvider, VirtioDeviceModel> Device);

/// <summary>How a daemon confines itself: the policy, and whether it opened a TAP (and so keeps the host's network).</summary>
internal sealed record DaemonSandbox(SandboxPolicy Policy, bool NeedsHostNetwork);

/// <summary>
/// Runs devices as a vhost-user back-end process: logs to stderr, serves each socket until
/// SIGTERM or SIGINT, then stops cleanly, removes the socket files and runs <c>report</c> (a final report; SIGUSR1 runs it
/// at any time too).
/// </summary>
internal static class BackendHost
{
    private static readonly JsonSerializerOptions ReportJson = new(JsonSerializerDefaults.Web);

    public static int Run(string socketPath, Func<IServiceProvider, VirtioDeviceModel> device, LogLevel level, TimeSpan busyPoll, Action report, DaemonSandbox sandbox) =>
        Run([new HostedDevice(socketPath, device)], level, busyPoll, report, sandbox);

    /// <summary>
    /// Serves every device from this process; if any socket cannot be served, none is (exit 1).
    /// Once every server listens and every device is made (so every file is open), the process
    /// confines itself as <paramref name="sandbox"/> says, and only then serves.
    /// </summary>
    public static int Run(IReadOnlyList<HostedDevice> devices, LogLevel level, TimeSpan busyPoll, Action report, DaemonSandbox sandbox)
    {
        var services = new ServiceCollection().AddLogging(logging => ConfigureLogging(logging, level));
        foreach (var device in devices)
        {
            // Keyed by socket path: one container holds every device and its server.
            services.AddKeyedVhostUserBackend(device.SocketPath, device.SocketPath, device.Device, busyPoll);
        }

        // Disposing the container disposes the servers made so far (removing their sockets) and then the devices.
        using var provider = services.BuildServiceProvider();
        var log = provider.GetRequiredService<ILoggerFactory>().CreateLogger("iovirt");

        // Signals are handled before the first socket appears: a SIGTERM as soon as one does must
        // still stop the daemon cleanly (sockets and locks removed), not end it where it stands.
        using var stop = new ManualResetEventSlim();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

        // SIGUSR1 prints the report now as well, so rates can be read between two snapshots.
        using var snapshot = PosixSignalRegistration.Create(SigUsr1, context =>
        {
            context.Cancel = true;
            report();
        });

        var servers = new List<VhostUserServer>(devices.Count);
        foreach (var device in devices)
        {
            try
            {
                servers.Add(provider.GetRequiredKeyedService<VhostUserServer>(device.SocketPath));
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or ArgumentException or IOException)
            {
                log.LogCritical("cannot serve {Path}: {Reason}", device.SocketPath, e.Message);

                // A path that holds something else is the caller's mistake; a busy or broken one is not.
                return e is SocketPathException { Problem: SocketPathProblem.NotASocket } ? 2 : 1;
            }
        }

        using var notification = ServiceNotification.Connect(log);
        try
        {
            ProcessSandbox.Confine(
                sandbox.Policy,
                sandbox.NeedsHostNetwork,
                [.. devices.Select(device => Path.GetDirectoryName(Path.GetFullPath(device.SocketPath))!)],
                [.. devices.SelectMany(device => new[] { device.SocketPath, SocketPathClaim.LockPathFor(device.SocketPath) })],
                log);
        }
        catch (SandboxException e)
        {
            log.LogCritical("cannot confine the daemon, so it does not serve: {Reason}", e.Message);
            return 1;
        }

        servers.ForEach(server => server.Start());
        notification.Ready();
        stop.Wait();
        log.LogInformation("stopping");
        foreach (var server in servers)
        {
            server.Dispose();
            log.LogInformation("stopped serving {Path}", server.SocketPath);
        }

        report();
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Set();
        }
    }

    /// <summary>Every daemon's logs: one line per event on stderr, from <paramref name="level"/> up.</summary>
    public static void ConfigureLogging(ILoggingBuilder logging, LogLevel level) => logging
        .SetMinimumLevel(level)
        .AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        })
        .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);

    /// <summary>Prints a final report as one JSON line on stdout (property names in camelCase), for <c>stopped</c>.</summary>
    public static void PrintReport<T>(T report) => Console.Out.WriteLine(JsonSerializer.Serialize(report, ReportJson));

    /// <summary>SIGUSR1 on Linux, which <see cref="PosixSignal"/> has no name for (raw numbers are allowed).</summary>
    private const PosixSignal SigUsr1 = (PosixSignal)10;

    /// <summary>Parses --log-level.</summary>
    public static bool TryParseLevel(string? text, out LogLevel level)
    {
        level = LogLevel.Information;
        return text is null || Enum.TryParse(text, ignoreCase: true, out level);
    }
}
