using System.Diagnostics;
using IoVirt.Testing;
using Xunit.Abstractions;

namespace IoVirt.Tests.Integration;

/// <summary>
/// Linux guests in QEMU on the switch of one <c>iovirt mux</c>: each guest's virtio-net-pci is a
/// vhost-user nic of the mux, so they reach each other with no host network at all, and a guest
/// that changes its MAC to one not its port's reaches no one; with a TAP uplink on a bridge,
/// a guest reaches the host's side through it.
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class QemuMuxNetTests(ITestOutputHelper output) : IDisposable
{
    private const int PingCount = 3;
    private const string AddressA = "10.0.0.2";
    private const string AddressB = "10.0.0.3";
    private const string MacA = "02:00:00:00:00:0a";
    private const string MacB = "02:00:00:00:00:0b";
    private const string SpoofedMac = "02:00:00:00:00:0d";

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-qemu-mux-net-").FullName;

    [Fact]
    public async Task Two_guests_on_one_mux_switch_ping_each_other_and_one_posing_as_another_mac_reaches_no_one()
    {
        var config = Path.Combine(_directory, "mux.json");
        File.WriteAllText(config, $$"""
            { "nics": [
                { "name": "a", "socket": "{{Socket("a")}}", "mac": "{{MacA}}" },
                { "name": "b", "socket": "{{Socket("b")}}", "mac": "{{MacB}}" } ] }
            """);
        using var daemon = DaemonProcess.Start("mux", "--config", config);
        daemon.WaitForSocket(Socket("a"));
        daemon.WaitForSocket(Socket("b"));
        Assert.True(daemon.IsConfined, "the daemon runs without its sandbox");
        var clock = Stopwatch.StartNew();

        // A pings B, then stays up until it has answered B's pings from B's own MAC, before and after B's spoofing.
        var guestA = Task.Run(() => QemuGuest.Run(
            GuestPing.Script(AddressA + "/24", AddressB, PingCount, answerPeerPings: 2 * PingCount),
            QemuGuest.VhostUserNic(Socket("a"), MacA),
            timeoutSeconds: 120));

        // B answers A's pings first, so A is done pinging before B poses as another MAC; B's
        // pings before and after that show A was up and reachable all along.
        var guestB = Task.Run(() => QemuGuest.Run(
            $$"""
            #!/bin/sh
            {{GuestPing.LinkUpAndWaitFor(AddressB + "/24", AddressA, 30)}}
            {{GuestPing.WaitUntilAnswered(PingCount, 30)}}
            {{GuestPing.Ping(AddressA, PingCount)}}
            ip link set eth0 address {{SpoofedMac}}
            {{GuestPing.Ping(AddressA, PingCount)}}
            ip link set eth0 address {{MacB}}
            {{GuestPing.Ping(AddressA, PingCount)}}
            """,
            QemuGuest.VhostUserNic(Socket("b"), MacB),
            timeoutSeconds: 120));
        var (exitA, consoleA) = await guestA;
        var (exitB, consoleB) = await guestB;

        output.WriteLine($"two guests on one iovirt mux switch, boot, ping, spoof, ping and power off: {clock.ElapsedMilliseconds} ms");
        output.WriteLine(consoleA);
        output.WriteLine(consoleB);
        Assert.True(exitA == 0, consoleA + daemon.Stderr);
        Assert.True(exitB == 0, consoleB + daemon.Stderr);
        Assert.Equal(new PingResult(AddressB, PingCount, PingCount, 0), GuestPing.Parse(consoleA));
        Assert.Equal(
            [new PingResult(AddressA, PingCount, PingCount, 0), new PingResult(AddressA, PingCount, 0, 1), new PingResult(AddressA, PingCount, PingCount, 0)],
            GuestPing.ParseAll(consoleB));

        var report = daemon.StopAndReadReport();
        output.WriteLine("switch counters: " + report);
        Assert.InRange(report.GetProperty("nics").GetProperty("b").GetProperty("spoofed").GetInt64(), PingCount, long.MaxValue);
        Assert.Equal(0, report.GetProperty("nics").GetProperty("a").GetProperty("spoofed").GetInt64());
        Assert.InRange(report.GetProperty("nics").GetProperty("a").GetProperty("forwarded").GetInt64(), 3 * PingCount, long.MaxValue);
    }

    [Fact]
    public void A_guest_on_the_mux_switch_pings_a_bridge_through_the_switchs_tap_uplink()
    {
        const string BridgeAddress = "10.0.0.1";
        using var netNamespace = NetNamespace.Create();
        netNamespace.AddBridge("br0", BridgeAddress + "/24");
        var config = Path.Combine(_directory, "mux.json");
        File.WriteAllText(config, $$"""
            { "uplink": "up0", "nics": [ { "name": "a", "socket": "{{Socket("a")}}", "mac": "{{MacA}}" } ] }
            """);
        using var daemon = DaemonProcess.StartIn(netNamespace, "mux", "--config", config);
        daemon.WaitForSocket(Socket("a"));
        netNamespace.Enslave("up0", "br0", timeoutMs: 5_000);

        var (exit, console) = QemuGuest.Run(GuestPing.Script(AddressA + "/24", BridgeAddress, PingCount), QemuGuest.VhostUserNic(Socket("a"), MacA), timeoutSeconds: 90);
        output.WriteLine(console);
        Assert.True(exit == 0, console + daemon.Stderr);
        Assert.Equal(new PingResult(BridgeAddress, PingCount, PingCount, 0), GuestPing.Parse(console));

        var report = daemon.StopAndReadReport();
        output.WriteLine("switch counters: " + report);
        Assert.InRange(report.GetProperty("nics").GetProperty("a").GetProperty("uplinkSent").GetInt64(), PingCount, long.MaxValue);
        Assert.InRange(report.GetProperty("uplink").GetProperty("received").GetInt64(), PingCount, long.MaxValue);
        Assert.InRange(report.GetProperty("learned").GetInt32(), 1, 16);
    }

    private string Socket(string nic) => Path.Combine(_directory, nic + ".sock");

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
