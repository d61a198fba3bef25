using System.Runtime.InteropServices;
using IoVirt.Interop;
using IoVirt.Sandbox;
using IoVirt.VhostUser;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary>
/// The daemon's one hosted service. Starting runs in the order confinement needs: every server
/// binds its socket and every device is made (so every file is open), the metrics listener (if
/// any) binds its port, NOTIFY_SOCKET is connected,
/// the process confines itself, and only then do the servers serve and the service manager hear
/// READY=1. The host's console lifetime has its SIGTERM and SIGINT handlers in place before this
/// starts, so a signal as soon as the first socket appears still stops the daemon cleanly.
/// Stopping disposes the servers (removing their sockets) and prints the report.
/// </summary>
internal sealed class VhostUserDaemon(DaemonPlan plan, IServiceProvider services, IHostApplicationLifetime lifetime, ILoggerFactory logs) : IHostedService, IDisposable
{
    private readonly ILogger _log = logs.CreateLogger("iovirt");
    private readonly List<VhostUserServer> _servers = new(plan.Devices.Count);
    private PosixSignalRegistration? _snapshot;
    private ServiceNotification? _notification;

    /// <summary>
    /// The metrics listener, held for the life of the process and never disposed: stopping the
    /// managed HttpListener looks its endpoint up again, which binds a fresh socket, and the
    /// seccomp allowlist (rightly) kills the process for that. The process is ending anyway.
    /// </summary>
    private OpenTelemetry.Metrics.MeterProvider? _metrics;
    private bool _serving;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // SIGUSR1 prints the report now as well, so rates can be read between two snapshots.
        _snapshot = PosixSignalRegistration.Create(LinuxSignals.SigUsr1, context =>
        {
            context.Cancel = true;
            plan.Report();
        });

        if (Bind() && Confine())
        {
            _servers.ForEach(server => server.Start());
            _serving = true;

            // A passed connection is all such a daemon serves: when its front end goes, so does the daemon.
            foreach (var server in _servers.Where(server => server.ServesOneConnection))
            {
                server.Ended.ContinueWith(_ => lifetime.StopApplication(), TaskScheduler.Default);
            }

            _notification!.Ready();
        }
        else
        {
            lifetime.StopApplication();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_serving)
        {
            _log.LogInformation("stopping");
            foreach (var server in _servers)
            {
                server.Dispose();
                _log.LogInformation("stopped serving {Path}", server.SocketPath);
            }

            plan.Report();
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _snapshot?.Dispose();
        _notification?.Dispose();
    }

    /// <summary>Makes every server (it listens at once) and its device; false, with the exit code set, when a socket cannot be served.</summary>
    private bool Bind()
    {
        foreach (var device in plan.Devices)
        {
            try
            {
                _servers.Add(services.GetRequiredKeyedService<VhostUserServer>(device.SocketPath));
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or ArgumentException or IOException)
            {
                _log.LogCritical("cannot serve {Path}: {Reason}", device.SocketPath, e.Message);

                // A path that holds something else is the caller's mistake; a busy or broken one is not.
                plan.ExitCode = e is SocketPathException { Problem: SocketPathProblem.NotASocket } ? 2 : 1;
                return false;
            }
        }

        if (plan.Metrics is { } endpoint)
        {
            _metrics = PrometheusEndpoint.Start(endpoint, _log);
            if (_metrics is null)
            {
                plan.ExitCode = 1;
                return false;
            }
        }

        return true;
    }

    /// <summary>Connects NOTIFY_SOCKET while its path is in view, then confines the process; false, with exit code 1, when it cannot be.</summary>
    private bool Confine()
    {
        _notification = ServiceNotification.Connect(_log);
        try
        {
            ProcessSandbox.Confine(
                plan.Sandbox.Policy,
                plan.Sandbox.Network,
                [.. plan.Devices.Where(device => device.Connection is null).Select(device => Path.GetDirectoryName(Path.GetFullPath(device.SocketPath))!)],
                [.. _servers.Where(server => server.OwnsSocketFile).SelectMany(server => new[] { server.SocketPath, SocketPathClaim.LockPathFor(server.SocketPath) })],
                _log);
            return true;
        }
        catch (SandboxException e)
        {
            _log.LogCritical("cannot confine the daemon, so it does not serve: {Reason}", e.Message);
            plan.ExitCode = 1;
            return false;
        }
    }
}
