using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Net;
using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Sandbox;
using IoVirt.VhostUser;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary>
/// A device to serve, the socket path it is served on, and the listening socket it was passed for
/// that path (--fd), if any; or the connection it was passed (--fd), which
/// <paramref name="SocketPath"/> then only names.
/// </summary>
internal sealed record HostedDevice(string SocketPath, Func<IServiceProvider, VirtioDeviceModel> Device, UnixSocket? Passed = null, UnixSocket? Connection = null);

/// <summary>How a daemon confines itself: the policy, and whether it opened a TAP (and so keeps the host's network).</summary>
internal sealed record DaemonSandbox(SandboxPolicy Policy, NetworkAccess Network);

/// <summary>What <see cref="VhostUserDaemon"/> serves, how it confines itself, what it reports, and the exit code it leaves.</summary>
internal sealed class DaemonPlan(IReadOnlyList<HostedDevice> devices, DaemonSandbox sandbox, Action report, MetricsEndpoint? metrics)
{
    public IReadOnlyList<HostedDevice> Devices { get; } = devices;

    public DaemonSandbox Sandbox { get; } = sandbox;

    /// <summary>Where the metrics are served in Prometheus text format; null: not served.</summary>
    public MetricsEndpoint? Metrics { get; } = metrics;

    /// <summary>Prints the daemon's report (on exit, and on SIGUSR1).</summary>
    public Action Report { get; } = report;

    /// <summary>0 until the daemon could not serve: then 1, or 2 when a socket path holds something else.</summary>
    public int ExitCode { get; set; }
}

/// <summary>
/// Runs devices as a vhost-user back-end process on Microsoft.Extensions.Hosting: logs to stderr,
/// serves each socket until SIGTERM or SIGINT (the host's console lifetime), or a passed
/// connection until its front end goes, then stops cleanly,
/// removes the socket files and prints the report (SIGUSR1 prints it at any time too). The host
/// is built bare: no configuration files (nothing to watch, which the sandbox would not allow), no
/// environment-variable settings, only the console logger configured here.
/// </summary>
internal static class DaemonHost
{
    public static int Run(ServedSocket socket, Func<IServiceProvider, VirtioDeviceModel> device, DaemonTelemetry telemetry, TimeSpan busyPoll, Action report, DaemonSandbox sandbox) =>
        Run([new HostedDevice(socket.Path, device, socket.Passed, socket.Connection)], telemetry, busyPoll, report, sandbox);

    /// <summary>
    /// Serves every device from this process; if any socket cannot be served, none is (exit 1, or 2
    /// for a path that is not a socket). Once every server listens and every device is made (so
    /// every file is open), the process confines itself as <paramref name="sandbox"/> says, and
    /// only then serves (see <see cref="VhostUserDaemon"/>). The devices take their meters
    /// (<see cref="BlkMetrics"/>, <see cref="NetMetrics"/>) from the container, which also has the
    /// servers' (<see cref="VhostUserMetrics"/>).
    /// </summary>
    public static int Run(IReadOnlyList<HostedDevice> devices, DaemonTelemetry telemetry, TimeSpan busyPoll, Action report, DaemonSandbox sandbox)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ApplicationName = "iovirt",
            ContentRootPath = AppContext.BaseDirectory,
        });
        ConfigureLogging(builder.Logging, telemetry.Logging);
        builder.Services.AddMetrics();
        builder.Services.AddSingleton(services => new BlkMetrics(services.GetRequiredService<IMeterFactory>()));
        builder.Services.AddSingleton(services => new NetMetrics(services.GetRequiredService<IMeterFactory>()));
        builder.Services.AddSingleton(services => new VhostUserMetrics(services.GetRequiredService<IMeterFactory>()));

        // The lifetime's "Application started. Press Ctrl+C to shut down." is not a daemon's to say.
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
        if (InheritedListeners(devices) is not { } listeners)
        {
            return 2;
        }

        for (var i = 0; i < devices.Count; i++)
        {
            // Keyed by socket path: one container holds every device and its server.
            var (path, device) = (devices[i].SocketPath, devices[i].Device);
            _ = devices[i].Connection is { } connection
                ? builder.Services.AddKeyedVhostUserConnection(path, connection, path, device, busyPoll)
                : builder.Services.AddKeyedVhostUserBackend(path, path, device, busyPoll, listeners[i]);
        }

        var plan = new DaemonPlan(devices, sandbox, report, telemetry.Metrics);

        builder.Services.AddSingleton(plan);
        builder.Services.AddHostedService<VhostUserDaemon>();

        // Disposing the host disposes the servers made so far (removing their sockets) and then the devices.
        using var host = builder.Build();
        host.Run();
        return plan.ExitCode;
    }

    /// <summary>
    /// For each device, the listening socket it was given (--fd) or a service manager passed for its
    /// path (systemd socket activation), or null where none was. Null, with one line on stderr, when the passed sockets
    /// are not usable or one is on a path no device is served on.
    /// </summary>
    private static UnixSocket?[]? InheritedListeners(IReadOnlyList<HostedDevice> devices)
    {
        Dictionary<string, UnixSocket> inherited;
        try
        {
            inherited = InheritedSockets.Take();
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"iovirt: {e.Message}");
            return null;
        }

        var listeners = devices.Select(device =>
            device.Connection is null ? device.Passed ?? (inherited.Remove(Path.GetFullPath(device.SocketPath), out var listener) ? listener : null) : null).ToArray();
        if (inherited.Count == 0)
        {
            return listeners;
        }

        Console.Error.WriteLine($"iovirt: socket activation passed a socket on {inherited.Keys.First()}, which no --socket names");
        foreach (var socket in inherited.Values.Concat(listeners.OfType<UnixSocket>()))
        {
            socket.Dispose();
        }

        return null;
    }

    /// <summary>
    /// Every daemon's logs: one line per event on stderr (stdout is the reports'), from the
    /// settings' level up, as text or JSON; the host's own chatter only from warnings.
    /// </summary>
    public static void ConfigureLogging(ILoggingBuilder logging, LogSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        logging
            .SetMinimumLevel(settings.Level)
            .AddFilter("Microsoft.Extensions.Hosting", LogLevel.Warning)
            .AddFilter("Microsoft.Hosting", LogLevel.Warning);
        if (settings.Format == LogFormat.Json)
        {
            logging.AddJsonConsole(console =>
            {
                console.UseUtcTimestamp = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                console.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
        }
        else
        {
            logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss.fff ";
            });
        }

        logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    /// <summary>Prints a final report as one JSON line on stdout (property names in camelCase), for <c>stopped</c>.</summary>
    public static void PrintReport<T>(T report, JsonTypeInfo<T> type) => Console.Out.WriteLine(JsonSerializer.Serialize(report, type));
}
