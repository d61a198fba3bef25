using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// `--metrics-listen`: a daemon in its default sandbox serves its meters in Prometheus text
/// format, scraped with curl while a front end drives I/O, and the counts move.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed partial class MetricsEndpointTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-metrics-").FullName;

    [Fact]
    public void A_blk_daemon_serves_its_request_counts_while_a_front_end_drives_it()
    {
        var socket = Path.Combine(_directory, "blk.sock");
        var port = FreePort();
        using var daemon = DaemonProcess.Start("blk", "--socket", socket, "--ram", "64M", "--metrics-listen", $"127.0.0.1:{port}");
        daemon.WaitForSocket(socket);
        Assert.True(daemon.IsConfined, "the daemon runs without its sandbox");
        Assert.Contains($"metrics on http://127.0.0.1:{port}/metrics", daemon.Stderr, StringComparison.Ordinal);

        var idle = Scrape(port);
        Assert.Equal(0, Sample(idle, "iovirt_blk_requests_total", "op=\"read\""));
        Assert.Equal(0, Sample(idle, "iovirt_vhost_user_connected", string.Empty));

        using var bench = DaemonProcess.Start("bench-blk", "--socket", socket, "--runtime", "6", "--ramp", "0", "--rw", "randrw");
        var first = WaitFor(port, text => Sample(text, "iovirt_blk_requests_total", "op=\"read\"") > 0);
        Thread.Sleep(1000);
        var second = Scrape(port);
        Assert.Equal(0, bench.WaitForExit(30_000));

        Assert.Equal(1, Sample(first, "iovirt_vhost_user_connected", string.Empty));
        Assert.True(Sample(second, "iovirt_blk_requests_total", "op=\"read\"") > Sample(first, "iovirt_blk_requests_total", "op=\"read\""), second);
        Assert.True(Sample(second, "iovirt_blk_requests_total", "op=\"write\"") > Sample(first, "iovirt_blk_requests_total", "op=\"write\""), second);
        Assert.True(Sample(second, "iovirt_blk_data_bytes_total", "op=\"write\"") >= 4096 * Sample(second, "iovirt_blk_requests_total", "op=\"write\""), second);
        Assert.True(Sample(second, "iovirt_blk_latency_seconds_count", "op=\"read\"") > 0, second);
        Assert.Equal(0, Sample(second, "iovirt_blk_errors_total", "kind=\"io_error\""));
        Assert.Contains($"device=\"{socket}\"", second, StringComparison.Ordinal);

        // The SIGUSR1 report stays, and agrees with what was scraped once the front end is gone.
        var report = daemon.SnapshotReport();
        var last = Scrape(port);
        Assert.Equal(report.GetProperty("totals").GetProperty("reads").GetInt64(), Sample(last, "iovirt_blk_requests_total", "op=\"read\""));
        Assert.Equal(0, Sample(last, "iovirt_vhost_user_connected", string.Empty));
        Assert.Equal(1, Sample(last, "iovirt_vhost_user_connections_total", string.Empty));

        // And it stops cleanly, metrics listener and all, inside its seccomp allowlist.
        Assert.Equal(report.GetProperty("totals").GetProperty("writes").GetInt64(), daemon.StopAndReadReport().GetProperty("totals").GetProperty("writes").GetInt64());
    }

    [Fact]
    public void A_mux_serves_each_disks_and_tenants_figures_by_name()
    {
        var image = Path.Combine(_directory, "shared.img");
        using (var file = File.Create(image))
        {
            file.SetLength(256 << 20);
        }

        var config = Path.Combine(_directory, "mux.json");
        File.WriteAllText(config, $$"""
            {
              "image": "{{image}}",
              "capacityIops": 20000,
              "disks": [
                { "name": "vm1", "socket": "{{_directory}}/vm1.sock", "size": "64M" },
                { "name": "vm2", "socket": "{{_directory}}/vm2.sock", "size": "64M" }
              ]
            }
            """);
        var port = FreePort();
        using var daemon = DaemonProcess.Start("mux", "--config", config, "--metrics-listen", $"127.0.0.1:{port}");
        daemon.WaitForSocket(Path.Combine(_directory, "vm2.sock"));
        using var bench = DaemonProcess.Start("bench-blk", "--socket", Path.Combine(_directory, "vm2.sock"), "--runtime", "2", "--ramp", "0");
        Assert.Equal(0, bench.WaitForExit(30_000));

        var text = Scrape(port);
        var requests = Sample(text, "iovirt_blk_requests_total", "device=\"vm2\",op=\"read\"");
        Assert.True(requests > 0, text);
        Assert.Equal(requests, Sample(text, "iovirt_tenant_requests_total", "tenant=\"vm2\""));
        Assert.True(Sample(text, "iovirt_tenant_latency_microseconds_count", "tenant=\"vm2\"") > 0, text);
        Assert.Equal(0, Sample(text, "iovirt_blk_requests_total", "device=\"vm1\""));
        Assert.Equal(0, Sample(text, "iovirt_tenant_requests_total", "tenant=\"vm1\""));
        daemon.StopAndReadReport();
    }

    [Fact]
    public void A_shared_gpu_serves_each_guests_turns()
    {
        var port = FreePort();
        var sockets = new[] { "g1", "g2" }.Select(name => Path.Combine(_directory, $"{name}.sock")).ToArray();
        using var daemon = DaemonProcess.Start("gpu", "--virgl", "--sockets", string.Join(',', sockets), "--metrics-listen", $"127.0.0.1:{port}");
        Array.ForEach(sockets, socket => daemon.WaitForSocket(socket));
        using (var guest = new Gpu.VirglGuest(sockets[0], 64))
        {
            for (var i = 0; i < 20; i++)
            {
                guest.Draw(1);
            }
        }

        var turns = daemon.SnapshotReport().GetProperty("guests")[0].GetProperty("turns").GetInt64();
        var text = WaitFor(port, text => Sample(text, "iovirt_tenant_requests_total", $"tenant=\"{sockets[0]}\"") >= turns);
        Assert.True(turns > 0);
        Assert.Equal(turns, Sample(text, "iovirt_tenant_requests_total", $"tenant=\"{sockets[0]}\""));
        Assert.True(Sample(text, "iovirt_tenant_latency_microseconds_count", $"tenant=\"{sockets[0]}\"") > 0, text);
        Assert.Equal(0, Sample(text, "iovirt_tenant_requests_total", $"tenant=\"{sockets[1]}\""));
        daemon.StopAndReadReport();
    }

    [Fact]
    public void A_port_already_taken_is_one_clear_line_and_exit_1()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var socket = Path.Combine(_directory, "taken.sock");
        using var daemon = DaemonProcess.Start("blk", "--socket", socket, "--ram", "16M", "--metrics-listen", $"127.0.0.1:{port}");
        Assert.Equal(1, daemon.WaitForExit());
        Assert.Contains($"cannot serve metrics on http://127.0.0.1:{port}/metrics", daemon.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(socket), "the socket was left behind");
    }

    [Theory]
    [InlineData("localhost:9100")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:70000")]
    public void An_endpoint_that_is_not_an_address_and_a_port_is_a_usage_error(string endpoint)
    {
        using var daemon = DaemonProcess.Start("blk", "--socket", Path.Combine(_directory, "bad.sock"), "--metrics-listen", endpoint);
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains("--metrics-listen", daemon.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A TCP port nobody listens on now (the kernel's pick, released for the daemon to take).</summary>
    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static string Scrape(int port) => Command.Output("curl", "-sS", "--fail", "--max-time", "10", $"http://127.0.0.1:{port}/metrics");

    private static string WaitFor(int port, Func<string, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var text = Scrape(port);
            if (condition(text) || DateTime.UtcNow > deadline)
            {
                return text;
            }

            Thread.Sleep(200);
        }
    }

    /// <summary>The sum of the samples of <paramref name="metric"/> whose labels contain <paramref name="label"/>; 0 when there is none.</summary>
    private static double Sample(string exposition, string metric, string label) =>
        SampleLine().Matches(exposition)
            .Where(m => m.Groups["name"].Value == metric && m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();
}
