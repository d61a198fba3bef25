using System.Globalization;
using System.Text.Json;
using IoVirt.Testing;
using Xunit.Abstractions;

namespace IoVirt.Tests.Integration;

/// <summary>
/// DPDK testpmd virtio_user clients, each sending 64-byte frames as fast as it can (txonly) to a
/// MAC no one on the switch has, on their own nics of one <c>iovirt mux</c> whose switch has a TAP
/// uplink: every frame is meant for the uplink, which is far slower than the clients, so the
/// ports' uplink queues stay full and the switch's deficit round robin alone decides whose frame
/// goes up next. The shares are read from each port's uplinkSent in the mux's exit report.
/// </summary>
/// <remarks>
/// The uplink TAP is a port of a bridge with many veth stations, to each of which the kernel
/// floods every frame (its destination is unknown there too) while the switch's uplink thread
/// is still in its write: a few thousand frames a second. A bare TAP takes a frame in about a
/// microsecond, and on two shared cores a client that waits for a CPU for a few milliseconds
/// then finds its queue empty and the others served in its place, so the figures would be the
/// CPU scheduler's. At this rate (96 stations were not quite enough under a load of 10) a full
/// queue lasts a fifth of a second or more.
/// </remarks>
[Collection(TestpmdCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class TestpmdMuxTests(ITestOutputHelper output) : IDisposable
{
    private const string Uplink = "up0";
    private const string Bridge = "br0";
    private const int Stations = 160;
    private const string UnknownMac = "02:00:00:00:00:ee";

    /// <summary>How far a port's share may be from its weight's, relative to that share.</summary>
    private const double ShareTolerance = 0.10;

    private static readonly TimeSpan Traffic = TimeSpan.FromSeconds(5);

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-testpmd-mux-").FullName;

    [Fact]
    public void Backlogged_testpmd_clients_weighted_1_to_2_get_a_third_and_two_thirds_of_the_mux_uplink()
    {
        int[] weights = [1, 2];
        var sent = SendThroughUplink(weights);

        var total = sent.Sum(port => port.UplinkSent);
        for (var i = 0; i < weights.Length; i++)
        {
            var expected = (double)weights[i] / weights.Sum();
            var share = (double)sent[i].UplinkSent / total;
            output.WriteLine($"weight {weights[i]}: {sent[i].UplinkSent} frames up, share {share:F3}, expected {expected:F3}");
            Assert.InRange(share, expected * (1 - ShareTolerance), expected * (1 + ShareTolerance));
        }
    }

    [Fact]
    public void Backlogged_testpmd_clients_of_equal_weight_share_the_mux_uplink_evenly()
    {
        var sent = SendThroughUplink([1, 1]);

        double sum = sent.Sum(port => port.UplinkSent);
        var squares = sent.Sum(port => (double)port.UplinkSent * port.UplinkSent);
        var jain = sum * sum / (sent.Count * squares);
        output.WriteLine($"equal weights: {string.Join(" / ", sent.Select(port => port.UplinkSent))} frames up, Jain {jain:F4}");
        Assert.InRange(jain, 0.99, 1.0);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// Runs one txonly client per weight on a nic of that weight for <see cref="Traffic"/>, stops
    /// the mux and them, and returns each nic's uplink counters in the order of the weights,
    /// having checked that every port was backlogged (frames for the uplink dropped with its
    /// queue full) and the uplink took every frame it was given.
    /// </summary>
    private List<UplinkCounts> SendThroughUplink(int[] weights)
    {
        using var netNamespace = NetNamespace.Create();
        netNamespace.AddBridge(Bridge, "10.0.0.1/24");
        // Stations that speak IPv6 would send the uplink solicitations of their own; nothing here needs it.
        var (sysctlExit, sysctlOutput) = netNamespace.Run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        Assert.True(sysctlExit == 0, sysctlOutput);
        netNamespace.AddVethPairs(Bridge, "s", Stations);

        var nics = weights.Select((weight, i) => (Name: ((char)('a' + i)).ToString(), Mac: $"02:00:00:00:00:0{i + 1}", Weight: weight)).ToArray();
        var config = Path.Combine(_directory, "mux.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            uplink = Uplink,
            nics = nics.Select(nic => new { name = nic.Name, socket = Socket(nic.Name), mac = nic.Mac, weight = nic.Weight }),
        }));
        using var daemon = DaemonProcess.StartIn(netNamespace, "mux", "--config", config);
        foreach (var nic in nics)
        {
            daemon.WaitForSocket(Socket(nic.Name));
            Assert.True(daemon.IsConfined, "the daemon runs without its sandbox");
        }

        netNamespace.Enslave(Uplink, Bridge, timeoutMs: 5_000);

        // Two cores: the clients alternate between them.
        var clients = nics.Select((nic, i) => Testpmd.Start(new TestpmdOptions(TestpmdRole.VirtioUserFrontEnd, Socket(nic.Name), "txonly")
        {
            Cpu = i % 2,
            Mac = nic.Mac,
            PeerMac = UnknownMac,
        })).ToList();
        JsonElement start, report;
        try
        {
            foreach (var client in clients)
            {
                _ = client.WaitForSample(sample => sample.TxPackets > 0, TimeSpan.FromSeconds(10));
            }

            // Counted between two snapshots taken while every client sends, so the moments when
            // one had the uplink alone (the first to start, the last to stop) are left out.
            start = daemon.SnapshotReport();
            Thread.Sleep(Traffic);
            report = daemon.SnapshotReport();
            _ = daemon.StopAndReadReport();
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        output.WriteLine("switch counters: " + report);
        var counts = nics.Select(nic =>
        {
            long Delta(string counter) =>
                report.GetProperty("nics").GetProperty(nic.Name).GetProperty(counter).GetInt64() - start.GetProperty("nics").GetProperty(nic.Name).GetProperty(counter).GetInt64();
            return new UplinkCounts(Delta("uplinkSent"), Delta("uplinkOverflowed"), report.GetProperty("nics").GetProperty(nic.Name).GetProperty("spoofed").GetInt64());
        }).ToList();
        foreach (var (nic, count) in nics.Zip(counts))
        {
            Assert.True(count.Spoofed == 0, string.Create(CultureInfo.InvariantCulture, $"nic {nic.Name}: {count.Spoofed} frames from a MAC not its own"));
            Assert.True(count.UplinkOverflowed > 0, $"nic {nic.Name} never filled its uplink queue, so the uplink was not what limited it: {report}");
        }

        Assert.Equal(0, report.GetProperty("uplink").GetProperty("sendFailed").GetInt64());
        return counts;
    }

    private string Socket(string nic) => Path.Combine(_directory, nic + ".sock");

    private sealed record UplinkCounts(long UplinkSent, long UplinkOverflowed, long Spoofed);
}
