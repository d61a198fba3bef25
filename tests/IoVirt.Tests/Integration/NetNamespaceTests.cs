using System.Diagnostics;
using IoVirt.Testing;
using Xunit.Abstractions;

namespace IoVirt.Tests.Integration;

/// <summary>
/// The network test bed on its own, before any back end of ours: a namespace the test made, a
/// bridge in it, and guests on QEMU's own TAP networking (QEMU runs inside the namespace, where
/// it creates the TAP) pinging the bridge and each other.
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class NetNamespaceTests(ITestOutputHelper output)
{
    private const string BridgeAddress = "10.0.0.1";

    [Fact]
    public void A_namespace_has_its_loopback_up_and_its_bridge_address_and_is_gone_after_dispose()
    {
        string name;
        using (var netNamespace = NetNamespace.Create())
        {
            name = netNamespace.Name;
            netNamespace.AddBridge("br0", BridgeAddress + "/24");

            var (exit, addresses) = netNamespace.Run("ip", "-o", "-4", "addr", "show");
            Assert.True(exit == 0, addresses);
            Assert.Contains("lo    inet 127.0.0.1/8", addresses, StringComparison.Ordinal);
            Assert.Contains($"br0    inet {BridgeAddress}/24", addresses, StringComparison.Ordinal);
            Assert.Matches("<[^>]*\\bUP\\b[^>]*>", netNamespace.Run("ip", "-o", "link", "show", "dev", "lo").Output);
            Assert.Contains(name, IpOutput("netns list"), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(name, IpOutput("netns list"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_tap_made_in_the_namespace_becomes_an_up_port_of_the_bridge()
    {
        using var netNamespace = NetNamespace.Create();
        netNamespace.AddBridge("br0", BridgeAddress + "/24");
        Assert.Equal(0, netNamespace.Run("ip", "tuntap", "add", "tap0", "mode", "tap").ExitCode);

        netNamespace.Enslave("tap0", "br0");

        var (_, link) = netNamespace.Run("ip", "-o", "link", "show", "dev", "tap0");
        Assert.Contains("master br0", link, StringComparison.Ordinal);
        Assert.Matches("<[^>]*\\bUP\\b[^>]*>", link);
    }

    [Fact]
    public void Enslaving_an_interface_that_never_appears_times_out_with_ips_complaint()
    {
        using var netNamespace = NetNamespace.Create();
        netNamespace.AddBridge("br0", BridgeAddress + "/24");

        var error = Assert.Throws<TimeoutException>(() => netNamespace.Enslave("tap7", "br0", timeoutMs: 300));
        Assert.Contains("tap7", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_ip_command_throws_with_its_stderr()
    {
        using var netNamespace = NetNamespace.Create();
        netNamespace.AddBridge("br0", BridgeAddress + "/24");

        var error = Assert.Throws<InvalidOperationException>(() => netNamespace.AddBridge("br0", "10.0.1.1/24"));
        Assert.Contains("File exists", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_daemon_started_in_the_namespace_runs_there_and_stops_on_sigterm()
    {
        using var netNamespace = NetNamespace.Create();
        var directory = Directory.CreateTempSubdirectory("iovirt-netns-").FullName;
        var socket = Path.Combine(directory, "rng.sock");
        // Without its sandbox: confined, a daemon that opens no TAP takes a network namespace of its own.
        using var daemon = DaemonProcess.StartIn(netNamespace, "rng", "--socket", socket, "--sandbox", "none");
        daemon.WaitForSocket(socket);

        // ip netns exec execs the daemon in place: the process the test holds is the daemon, in the namespace.
        Assert.Equal(netNamespace.Name, IpOutput($"netns identify {daemon.Id}").Trim());
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_guest_on_a_qemu_tap_in_the_namespace_pings_the_bridge()
    {
        using var netNamespace = NetNamespace.Create();
        netNamespace.AddBridge("br0", BridgeAddress + "/24");
        var clock = Stopwatch.StartNew();

        var guest = Task.Run(() => QemuGuest.Run(
            GuestPing.Script("10.0.0.2/24", BridgeAddress),
            TapNic("tap0", "52:54:00:12:34:56"),
            timeoutSeconds: 90,
            netNamespace: netNamespace));
        netNamespace.Enslave("tap0", "br0");
        var (exit, console) = await guest;

        output.WriteLine($"guest boot, ping of the bridge and power-off: {clock.ElapsedMilliseconds} ms");
        output.WriteLine(console);
        Assert.True(exit == 0, console);
        Assert.Equal(new PingResult(BridgeAddress, 3, 3, 0), GuestPing.Parse(console));
    }

    [Fact]
    public async Task A_guest_pinging_an_address_nobody_holds_reports_no_replies_and_fails()
    {
        using var netNamespace = NetNamespace.Create();
        netNamespace.AddBridge("br0", BridgeAddress + "/24");

        var guest = Task.Run(() => QemuGuest.Run(
            GuestPing.Script("10.0.0.2/24", "10.0.0.9", waitForPeerSeconds: 1),
            TapNic("tap0", "52:54:00:12:34:56"),
            timeoutSeconds: 90,
            netNamespace: netNamespace));
        netNamespace.Enslave("tap0", "br0");
        var (exit, console) = await guest;

        Assert.Equal(1, exit);
        Assert.Equal(new PingResult("10.0.0.9", 3, 0, 1), GuestPing.Parse(console));
    }

    [Fact]
    public async Task Two_guests_on_two_taps_on_one_bridge_ping_each_other()
    {
        using var netNamespace = NetNamespace.Create();
        netNamespace.AddBridge("br0", BridgeAddress + "/24");
        var clock = Stopwatch.StartNew();

        var first = Task.Run(() => QemuGuest.Run(
            GuestPing.Script("10.0.0.2/24", "10.0.0.3", answerPeerPings: 3),
            TapNic("tap0", "52:54:00:12:34:56"),
            timeoutSeconds: 120,
            netNamespace: netNamespace));
        var second = Task.Run(() => QemuGuest.Run(
            GuestPing.Script("10.0.0.3/24", "10.0.0.2", answerPeerPings: 3),
            TapNic("tap1", "52:54:00:12:34:57"),
            timeoutSeconds: 120,
            netNamespace: netNamespace));
        netNamespace.Enslave("tap0", "br0");
        netNamespace.Enslave("tap1", "br0");
        var (firstExit, firstConsole) = await first;
        var (secondExit, secondConsole) = await second;

        output.WriteLine($"two guests, boot, ping each other and power off: {clock.ElapsedMilliseconds} ms");
        output.WriteLine(firstConsole);
        output.WriteLine(secondConsole);
        Assert.True(firstExit == 0, firstConsole);
        Assert.True(secondExit == 0, secondConsole);
        Assert.Equal(new PingResult("10.0.0.3", 3, 3, 0), GuestPing.Parse(firstConsole));
        Assert.Equal(new PingResult("10.0.0.2", 3, 3, 0), GuestPing.Parse(secondConsole));
    }

    /// <summary>QEMU's own TAP back end on <paramref name="tap"/>; no option ROM, since the guest boots with -kernel and iPXE only costs boot time.</summary>
    private static string[] TapNic(string tap, string mac) =>
        ["-netdev", $"tap,id=n0,ifname={tap},script=no,downscript=no", "-device", $"virtio-net-pci,netdev=n0,mac={mac},romfile="];

    private static string IpOutput(string arguments)
    {
        using var ip = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardOutput = true }) ?? throw new InvalidOperationException("could not start ip");
        var text = ip.StandardOutput.ReadToEnd();
        ip.WaitForExit();
        return text;
    }
}
