using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace IoVirt.Testing;

/// <summary>Which side of a vhost-user socket testpmd's one port plays.</summary>
public enum TestpmdRole
{
    /// <summary><c>net_virtio_user</c>: the driver (guest) side; connects to a back end listening on the socket.</summary>
    VirtioUserFrontEnd,

    /// <summary><c>net_vhost</c>: DPDK's own vhost-user back end; listens on the socket.</summary>
    VhostBackEnd,
}

/// <summary>How to run one dpdk-testpmd.</summary>
/// <param name="Role">Front end or back end on <paramref name="Socket"/>.</param>
/// <param name="Socket">The vhost-user socket path.</param>
/// <param name="ForwardMode">testpmd's <c>--forward-mode</c>: txonly, rxonly, io, macswap...</param>
public sealed record TestpmdOptions(TestpmdRole Role, string Socket, string ForwardMode)
{
    /// <summary>Packets per rx/tx burst.</summary>
    public int Burst { get; init; } = 32;

    /// <summary>Frame length txonly sends (<c>--txpkts</c>), 64 bytes: the packet-rate case.</summary>
    public int TxPacketBytes { get; init; } = 64;

    /// <summary>The CPU both of testpmd's lcores (main and forwarding) are pinned to.</summary>
    public int Cpu { get; init; }

    /// <summary>Descriptors per ring the front end offers (virtio_user's <c>queue_size</c>); bounds the frames in flight.</summary>
    public int QueueSize { get; init; } = 256;

    /// <summary>The front end offers packed rings (virtio_user's <c>packed_vq=1</c>) instead of split ones.</summary>
    public bool PackedRings { get; init; }

    /// <summary>Send one burst before forwarding starts (<c>--tx-first</c>), so io/macswap have something to bounce.</summary>
    public bool TxFirst { get; init; }

    /// <summary>The front end's own MAC (virtio_user's <c>mac</c>), the source of what txonly sends; random when null.</summary>
    public string? Mac { get; init; }

    /// <summary>The destination MAC txonly sends to (<c>--eth-peer</c>); testpmd's default 02:00:00:00:00:00 when null.</summary>
    public string? PeerMac { get; init; }
}

/// <summary>One port's totals from testpmd's final "Forward statistics" block.</summary>
public sealed record TestpmdPortStats(long RxPackets, long RxDropped, long TxPackets, long TxDropped);

/// <summary>A port's cumulative counters from one periodic "NIC statistics" block, and when it arrived.</summary>
public sealed record TestpmdSample(TimeSpan At, long RxPackets, long TxPackets);

/// <summary>Which counter a packet rate is read from.</summary>
public enum TestpmdCounter
{
    Rx,
    Tx,
}

/// <summary>
/// dpdk-testpmd as a child process on one vhost-user socket, without hugepages or PCI. It prints port
/// 0's cumulative counters every second (<c>--stats-period</c>, which also keeps it running with no
/// terminal), and its final per-port totals when stopped with SIGINT.
/// </summary>
public sealed partial class Testpmd : IDisposable
{
    private const string Program = "dpdk-testpmd";
    private static int _instances;

    private readonly Process _process;
    private readonly string _filePrefix;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly List<TestpmdSample> _samples = [];
    private long _pendingRxPackets = -1;

    private Testpmd(Process process, string filePrefix)
    {
        _process = process;
        _filePrefix = filePrefix;
        _process.OutputDataReceived += (_, e) => OnStdoutLine(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        // Without a terminal testpmd reads nothing from stdin; a closed one is what it gets in a script too.
        _process.StandardInput.Close();
    }

    public string Stdout => Read(_stdout);

    public string Stderr => Read(_stderr);

    /// <summary>Everything testpmd printed, for assertion messages.</summary>
    public string Output => $"--- {Program} stdout ---\n{Stdout}--- {Program} stderr ---\n{Stderr}";

    /// <summary>Starts testpmd; returns at once (the port connects and forwarding starts a moment later).</summary>
    public static Testpmd Start(TestpmdOptions options)
    {
        // Two testpmds (front end and back end) run at once: each needs its own runtime directory.
        var filePrefix = $"iovirt-{Environment.ProcessId}-{Interlocked.Increment(ref _instances)}";
        var info = new ProcessStartInfo(Program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in Arguments(options, filePrefix))
        {
            info.ArgumentList.Add(argument);
        }

        return new Testpmd(Process.Start(info) ?? throw new InvalidOperationException($"could not start {Program}"), filePrefix);
    }

    private static List<string> Arguments(TestpmdOptions options, string filePrefix)
    {
        var cpu = options.Cpu.ToString(CultureInfo.InvariantCulture);
        var vdev = options.Role switch
        {
            TestpmdRole.VirtioUserFrontEnd => $"net_virtio_user0,path={options.Socket},queues=1,queue_size={options.QueueSize.ToString(CultureInfo.InvariantCulture)}"
                + (options.Mac is { } mac ? $",mac={mac}" : "")
                + (options.PackedRings ? ",packed_vq=1" : ""),
            TestpmdRole.VhostBackEnd => $"net_vhost0,iface={options.Socket},queues=1",
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Role, "unknown role"),
        };
        List<string> arguments =
        [
            // EAL: ordinary pages, no devices but the vdev; lcore 0 (main) and 1 (forwarding) share one CPU,
            // since the main lcore only sleeps between statistics prints.
            "--no-huge", "-m", "256", "--no-pci", $"--file-prefix={filePrefix}",
            "--lcores", $"0@{cpu},1@{cpu}", "--vdev", vdev,
            "--",
            $"--forward-mode={options.ForwardMode}",
            $"--burst={options.Burst.ToString(CultureInfo.InvariantCulture)}",
            $"--txpkts={options.TxPacketBytes.ToString(CultureInfo.InvariantCulture)}",
            "--stats-period=1",
            "--total-num-mbufs=32768",

            // Otherwise testpmd discards what is waiting in its rx rings when forwarding starts,
            // and the peer's counters would not match.
            "--no-flush-rx",
        ];
        if (options.TxFirst)
        {
            arguments.Add("--tx-first");
        }

        if (options.PeerMac is { } peer)
        {
            arguments.Add($"--eth-peer=0,{peer}");
        }

        return arguments;
    }

    /// <summary>Waits until a periodic sample satisfies <paramref name="condition"/> and returns it.</summary>
    public TestpmdSample WaitForSample(Func<TestpmdSample, bool> condition, TimeSpan timeout)
    {
        var deadline = _clock.Elapsed + timeout;
        while (true)
        {
            var latest = LatestSample();
            if (latest is not null && condition(latest))
            {
                return latest;
            }

            if (_process.HasExited || _clock.Elapsed > deadline)
            {
                throw new InvalidOperationException($"{Program} never reported the awaited counters\n{Output}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>
    /// Packets per second on <paramref name="counter"/> over about <paramref name="window"/>, after
    /// <paramref name="warmUp"/>: the difference between the cumulative counters of the first
    /// sample after the warm-up and the first one after the window, over the time between their
    /// arrivals (a block arrives within a millisecond of being printed, so over seconds the arrival
    /// times are the print times).
    /// </summary>
    public double MeasurePacketRate(TestpmdCounter counter, TimeSpan warmUp, TimeSpan window)
    {
        var start = NextSampleAfter(_clock.Elapsed + warmUp);
        var end = NextSampleAfter(start.At + window);
        var packets = counter == TestpmdCounter.Rx ? end.RxPackets - start.RxPackets : end.TxPackets - start.TxPackets;
        return packets / (end.At - start.At).TotalSeconds;
    }

    /// <summary>Stops testpmd with SIGINT and returns its final per-port totals, keyed by port id.</summary>
    public IReadOnlyDictionary<int, TestpmdPortStats> Stop(int timeoutMs = 20_000)
    {
        if (!_process.HasExited)
        {
            _ = Tmds.Linux.LibC.kill(_process.Id, Tmds.Linux.LibC.SIGINT);
        }

        if (!_process.WaitForExit(timeoutMs))
        {
            _process.Kill();
            throw new InvalidOperationException($"{Program} did not stop on SIGINT\n{Output}");
        }

        _process.WaitForExit(); // lets the asynchronous readers reach the end of both streams
        var ports = ParseForwardStatistics(Stdout);
        return ports.Count > 0 ? ports : throw new InvalidOperationException($"{Program} printed no forward statistics (exit {_process.ExitCode})\n{Output}");
    }

    /// <summary>
    /// The "Forward statistics for port N" blocks testpmd prints when forwarding stops:
    /// <code>
    ///   ---------------------- Forward statistics for port 0  ----------------------
    ///   RX-packets: 10405472       RX-dropped: 0             RX-total: 10405472
    ///   TX-packets: 0              TX-dropped: 0             TX-total: 0
    /// </code>
    /// (txonly counts as TX-dropped what the ring had no room for; those never reach the peer).
    /// </summary>
    public static IReadOnlyDictionary<int, TestpmdPortStats> ParseForwardStatistics(string stdout)
    {
        var ports = new Dictionary<int, TestpmdPortStats>();
        foreach (Match block in ForwardStatisticsBlock().Matches(stdout))
        {
            ports[int.Parse(block.Groups["port"].Value, CultureInfo.InvariantCulture)] = new TestpmdPortStats(
                Count(block, "rx"), Count(block, "rxDropped"), Count(block, "tx"), Count(block, "txDropped"));
        }

        return ports;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();

        // EAL leaves its runtime directory (config, telemetry socket) behind; one per instance would pile up.
        var runtimeDirectory = Path.Combine("/var/run/dpdk", _filePrefix);
        if (Directory.Exists(runtimeDirectory))
        {
            Directory.Delete(runtimeDirectory, recursive: true);
        }
    }

    private static long Count(Match block, string group) => long.Parse(block.Groups[group].Value, CultureInfo.InvariantCulture);

    /// <summary>
    /// Follows the periodic blocks, which list port 0's cumulative counters one line each:
    /// <c>RX-packets: 8406368    RX-missed: 0 ...</c> then <c>TX-packets: 0    TX-errors: 0 ...</c>.
    /// The final forward statistics use the same names but wider columns, and come after the
    /// last periodic block, so only "-missed" / "-errors" lines are taken.
    /// </summary>
    private void OnStdoutLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        Append(_stdout, line);
        var rx = PeriodicRxLine().Match(line);
        if (rx.Success)
        {
            _pendingRxPackets = long.Parse(rx.Groups["n"].Value, CultureInfo.InvariantCulture);
            return;
        }

        var tx = PeriodicTxLine().Match(line);
        if (tx.Success && _pendingRxPackets >= 0)
        {
            var sample = new TestpmdSample(_clock.Elapsed, _pendingRxPackets, long.Parse(tx.Groups["n"].Value, CultureInfo.InvariantCulture));
            _pendingRxPackets = -1;
            lock (_samples)
            {
                _samples.Add(sample);
            }
        }
    }

    private TestpmdSample? LatestSample()
    {
        lock (_samples)
        {
            return _samples.Count > 0 ? _samples[^1] : null;
        }
    }

    private TestpmdSample NextSampleAfter(TimeSpan at)
    {
        // Samples come every second; allow a few missed ones before giving up.
        return WaitForSample(s => s.At >= at, at - _clock.Elapsed + TimeSpan.FromSeconds(5));
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    [GeneratedRegex(@"^\s*RX-packets:\s*(?<n>\d+)\s+RX-missed:")]
    private static partial Regex PeriodicRxLine();

    [GeneratedRegex(@"^\s*TX-packets:\s*(?<n>\d+)\s+TX-errors:")]
    private static partial Regex PeriodicTxLine();

    [GeneratedRegex(@"Forward statistics for port (?<port>\d+)\s*-+\s*RX-packets:\s*(?<rx>\d+)\s+RX-dropped:\s*(?<rxDropped>\d+).*\n\s*TX-packets:\s*(?<tx>\d+)\s+TX-dropped:\s*(?<txDropped>\d+)")]
    private static partial Regex ForwardStatisticsBlock();
}
