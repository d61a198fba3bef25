using System.Diagnostics;
using System.Runtime.InteropServices;
using IoVirt.Arbitration;
using IoVirt.Backends.Gpu.Sharing;
using IoVirt.Interop;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary>
/// <c>iovirt gpu --sockets A,B,...</c>: one GPU shared by several guests. Each guest gets a GPU
/// process of its own (this program again, as <c>iovirt gpu --socket A --turns-fd N</c>), since
/// virglrenderer's resource ids are global to a process and a renderer's faults should stay with
/// one guest; this process arbitrates the GPU's time among them (<see cref="GpuTimeArbiter"/>)
/// over one socket pair each. It holds no guest memory and reads only 16-byte turn messages, so
/// it does not confine itself; each child does, as a one-guest daemon would. Until SIGTERM or
/// SIGINT (passed on to the children) or until every child has exited; SIGUSR1 prints the report.
/// </summary>
internal static class GpuShareHost
{
    /// <summary>
    /// A frame's time at 60 Hz: a guest that used less than its share since its last frame may
    /// draw up to this much of its next one before a busy guest's next turn, so a flooder costs
    /// it one submission's wait, not a slice in the middle of its frame.
    /// </summary>
    private static readonly TimeSpan IdleCredit = TimeSpan.FromMilliseconds(16);

    public static int Run(IReadOnlyList<string> sockets, IReadOnlyList<TenantSpec> shares, IReadOnlyList<string> childArguments, DaemonTelemetry telemetry)
    {
        using var logging = LoggerFactory.Create(builder => DaemonHost.ConfigureLogging(builder, telemetry.Logging));
        var log = logging.CreateLogger("iovirt.gpu");
        using var metrics = new TenantMetrics();
        if (telemetry.Metrics is { } endpoint && PrometheusEndpoint.Start(endpoint, log) is null)
        {
            return 1;
        }

        var children = new Child[sockets.Count];
        var guests = new GpuGuest[sockets.Count];
        // Not disposed: a child's Exited event may still be raised as this returns.
        var exited = new SemaphoreSlim(0);
        for (var i = 0; i < sockets.Count; i++)
        {
            var (ours, theirs) = UnixSocket.Pair();
            using (theirs)
            {
                try
                {
                    children[i] = new Child(sockets[i], Start(theirs, sockets[i], childArguments));
                }
                catch (System.ComponentModel.Win32Exception e)
                {
                    log.LogCritical("cannot start the GPU process for {Path}: {Reason}", sockets[i], e.Message);
                    ours.Dispose();
                    Stop(children.Where(child => child is not null), log);
                    return 1;
                }
            }

            var child = children[i];
            child.Process.EnableRaisingEvents = true;
            child.Process.Exited += (_, _) => exited.Release();
            guests[i] = new GpuGuest(sockets[i], shares[i], ours);
            log.LogInformation("serving {Path} from process {Pid}", sockets[i], child.Process.Id);
        }

        using var arbiter = new GpuTimeArbiter(guests, TimeProvider.System, metrics, log, IdleCredit);
        var stopped = false;
        void Stopping(PosixSignalContext context)
        {
            context.Cancel = true;
            Volatile.Write(ref stopped, true);
            exited.Release();
        }

        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stopping);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stopping);
        using var report = PosixSignalRegistration.Create(LinuxSignals.SigUsr1, context =>
        {
            context.Cancel = true;
            PrintReport(children, arbiter);
        });

        var running = children.Length;
        while (running > 0 && !Volatile.Read(ref stopped))
        {
            exited.Wait();
            running = children.Count(child => !child.Process.HasExited);
            foreach (var child in children.Where(child => child.Process.HasExited && !child.Reported))
            {
                child.Reported = true;
                log.LogError("the GPU process for {Path} exited with {Code}; the other guests go on", child.Socket, child.Process.ExitCode);
            }
        }

        Stop(children, log);
        PrintReport(children, arbiter);
        return Volatile.Read(ref stopped) ? 0 : 1;
    }

    /// <summary>Starts this program as the GPU process for <paramref name="socket"/>, with <paramref name="turns"/> its end of the arbiter's socket pair.</summary>
    private static Process Start(UnixSocket turns, string socket, IReadOnlyList<string> childArguments)
    {
        // This child alone inherits its end: every other descriptor of ours is close-on-exec.
        if (Tmds.Linux.LibC.fcntl(turns.Fd, Tmds.Linux.LibC.F_SETFD, 0) != 0)
        {
            throw new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError(), "fcntl(F_SETFD) on the turns socket");
        }

        var program = Environment.ProcessPath ?? throw new InvalidOperationException("this process has no path to start again");
        var start = new ProcessStartInfo(program) { UseShellExecute = false };

        // Run by the dotnet host, the program is its first argument.
        if (Path.GetFileNameWithoutExtension(program) == "dotnet")
        {
            start.ArgumentList.Add(Environment.GetCommandLineArgs()[0]);
        }

        foreach (var argument in (string[])["gpu", "--socket", socket, "--turns-fd", turns.Fd.ToString(System.Globalization.CultureInfo.InvariantCulture), .. childArguments])
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new System.ComponentModel.Win32Exception("the GPU process did not start");
    }

    /// <summary>SIGTERM to every child still running, and a wait for each (SIGKILL after 10 s).</summary>
    private static void Stop(IEnumerable<Child> children, ILogger log)
    {
        var running = children.Where(child => !child.Process.HasExited).ToList();
        foreach (var child in running)
        {
            _ = Tmds.Linux.LibC.kill(child.Process.Id, 15);
        }

        foreach (var child in running.Where(child => !child.Process.WaitForExit(10_000)))
        {
            log.LogError("the GPU process for {Path} did not stop within 10 s; killed", child.Socket);
            child.Process.Kill();
            child.Process.WaitForExit();
        }
    }

    private static void PrintReport(Child[] children, GpuTimeArbiter arbiter)
    {
        var totals = arbiter.Report();
        var guests = children.Select(child =>
        {
            var t = totals[child.Socket];
            return new GpuGuestReport(
                child.Socket, child.Process.Id, child.Process.HasExited ? child.Process.ExitCode : null, t.Requests, t.Cost / 1e6, t.QueueWaitMicroseconds / 1e3, t.ThrottledMicroseconds / 1e3);
        }).ToList();
        DaemonHost.PrintReport(new GpuShareReport(guests), ReportJson.Default.GpuShareReport);
    }

    private sealed class Child(string socket, Process process)
    {
        public string Socket { get; } = socket;

        public Process Process { get; } = process;

        public bool Reported { get; set; }
    }
}

/// <summary>What <c>iovirt gpu --sockets</c> reports: each guest's GPU share so far.</summary>
internal sealed record GpuShareReport(IReadOnlyList<GpuGuestReport> Guests);

/// <summary>
/// One guest of a shared GPU: its socket, its GPU process (and that process's exit code once it
/// has exited), its turns on the GPU, the GPU time it was charged, the time it waited for turns
/// and the time it waited at its limit.
/// </summary>
internal sealed record GpuGuestReport(string Socket, int Pid, int? Exit, long Turns, double GpuMilliseconds, double WaitMilliseconds, double ThrottledMilliseconds);
