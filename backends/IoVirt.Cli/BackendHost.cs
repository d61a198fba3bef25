using System.Runtime.InteropServices;
using IoVirt.VhostUser;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary>
/// Runs one device as a vhost-user back-end process: logs to stderr, serves the socket until
/// SIGTERM or SIGINT, then stops cleanly, removes the socket file and runs <c>stopped</c> (a final report).
/// </summary>
internal static class BackendHost
{
    public static int Run(string socketPath, Func<IServiceProvider, VirtioDeviceModel> device, LogLevel level, TimeSpan busyPoll, Action? stopped = null)
    {
        var services = new ServiceCollection()
            .AddLogging(logging => logging
                .SetMinimumLevel(level)
                .AddSimpleConsole(console =>
                {
                    console.SingleLine = true;
                    console.TimestampFormat = "HH:mm:ss.fff ";
                })
                .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace))
            .AddVhostUserBackend(socketPath, device, busyPoll);
        using var provider = services.BuildServiceProvider();
        var log = provider.GetRequiredService<ILoggerFactory>().CreateLogger("iovirt");
        VhostUserServer server;
        try
        {
            server = provider.GetRequiredService<VhostUserServer>();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or ArgumentException or IOException)
        {
            log.LogCritical("cannot serve {Path}: {Reason}", socketPath, e.Message);
            return 1;
        }

        using var stop = new ManualResetEventSlim();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        server.Start();
        stop.Wait();
        log.LogInformation("stopping");
        server.Dispose();
        log.LogInformation("stopped; removed {Path}", socketPath);
        stopped?.Invoke();
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Set();
        }
    }

    /// <summary>Parses --log-level.</summary>
    public static bool TryParseLevel(string? text, out LogLevel level)
    {
        level = LogLevel.Information;
        return text is null || Enum.TryParse(text, ignoreCase: true, out level);
    }
}
