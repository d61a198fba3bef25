using System.Diagnostics;
using System.Text.Json;
using IoVirt.Testing;
using Xunit.Abstractions;

namespace IoVirt.Tests.Integration;

/// <summary>
/// Linux guests in QEMU with <c>-netdev vhost-user</c> and virtio-net-pci, served by <c>iovirt
/// net --tap</c> running in a namespace the test made: the daemon creates its TAP there, the
/// test makes it a port of the namespace's bridge, and the guests ping the bridge and each other
/// through our back end. QEMU stays in the root namespace: its netdev is only a Unix socket.
/// </summary>
[Collection(QemuCollection.Name)]
public sealed class QemuNetTests : IDisposable
{
    private const string BridgeAddress = "10.0.0.1";
    private const int PingCount = 3;

    private readonly ITestOutputHelper _output;
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-qemu-net-").FullName;
    private readonly NetNamespace _netNamespace = NetNamespace.Create();

    public QemuNetTests(ITestOutputHelper output)
    {
        _output = output;
        try
        {
            _netNamespace.AddBridge("br0", BridgeAddress + "/24");
        }
        catch
        {
            // xunit does not dispose a test class whose constructor threw.
            Dispose();
            throw;
        }
    }

    [Fact]
    public void A_guest_pings_the_namespace_bridge_through_iovirt_net_on_a_tap()
    {
        using var daemon = StartDaemonOnBridge("tap0");
        var clock = Stopwatch.StartNew();

        var (exit, console) = QemuGuest.Run(
            GuestPing.Script("10.0.0.2/24", BridgeAddress, PingCount),
            VhostUserNic(daemon, "52:54:00:12:34:56"),
            timeoutSeconds: 90);

        _output.WriteLine($"guest boot, ping of the bridge through iovirt net and power-off: {clock.ElapsedMilliseconds} ms");
        _output.WriteLine(console);
        Assert.True(exit == 0, console + daemon.Process.Stderr);
        Assert.Equal(new PingResult(BridgeAddress, PingCount, PingCount, 0), GuestPing.Parse(console));
        AssertCountersCoverThePings(daemon.Process);
    }

    [Fact]
    public async Task Two_guests_on_two_iovirt_net_daemons_on_one_bridge_ping_each_other()
    {
        using var first = StartDaemonOnBridge("tap0");
        using var second = StartDaemonOnBridge("tap1");
        var clock = Stopwatch.StartNew();

        // Each guest also waits to answer the other's pings, so neither powers off under them.
        var firstGuest = Task.Run(() => QemuGuest.Run(
            GuestPing.Script("10.0.0.2/24", "10.0.0.3", PingCount, answerPeerPings: PingCount),
            VhostUserNic(first, "52:54:00:12:34:56"),
            timeoutSeconds: 120));
        var secondGuest = Task.Run(() => QemuGuest.Run(
            GuestPing.Script("10.0.0.3/24", "10.0.0.2", PingCount, answerPeerPings: PingCount),
            VhostUserNic(second, "52:54:00:12:34:57"),
            timeoutSeconds: 120));
        var (firstExit, firstConsole) = await firstGuest;
        var (secondExit, secondConsole) = await secondGuest;

        _output.WriteLine($"two guests on two iovirt net daemons, boot, ping each other and power off: {clock.ElapsedMilliseconds} ms");
        _output.WriteLine(firstConsole);
        _output.WriteLine(secondConsole);
        Assert.True(firstExit == 0, firstConsole + first.Process.Stderr);
        Assert.True(secondExit == 0, secondConsole + second.Process.Stderr);
        Assert.Equal(new PingResult("10.0.0.3", PingCount, PingCount, 0), GuestPing.Parse(firstConsole));
        Assert.Equal(new PingResult("10.0.0.2", PingCount, PingCount, 0), GuestPing.Parse(secondConsole));
        AssertCountersCoverThePings(first.Process);
        AssertCountersCoverThePings(second.Process);
    }

    /// <summary>An <c>iovirt net</c> daemon with its socket, running in the test's namespace.</summary>
    private sealed record NetDaemon(DaemonProcess Process, string Socket) : IDisposable
    {
        public void Dispose() => Process.Dispose();
    }

    /// <summary>Starts <c>iovirt net --tap</c> in the namespace; once it listens its TAP exists, and it joins the bridge.</summary>
    private NetDaemon StartDaemonOnBridge(string tap)
    {
        var socket = Path.Combine(_directory, tap + ".sock");
        var daemon = DaemonProcess.StartIn(_netNamespace, "net", "--socket", socket, "--tap", tap);
        try
        {
            daemon.WaitForSocket(socket);
            _netNamespace.Enslave(tap, "br0", timeoutMs: 5_000);
            return new NetDaemon(daemon, socket);
        }
        catch
        {
            daemon.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The vhost-user NIC. vectors=0 turns MSI-X off: QEMU 7.2 under TCG crashes in
    /// vhost_net_start with it on. No option ROM: the guest boots with -kernel.
    /// </summary>
    private static string[] VhostUserNic(NetDaemon daemon, string mac) =>
    [
        "-chardev", $"socket,id=c0,path={daemon.Socket}",
        "-netdev", "vhost-user,id=n0,chardev=c0",
        "-device", $"virtio-net-pci,netdev=n0,mac={mac},vectors=0,romfile=",
    ];

    /// <summary>
    /// On SIGTERM the daemon exits 0 and prints its counters: the echo requests (and ARP) went
    /// from the guest to the TAP, the replies came back, and no chain was invalid or frame lost.
    /// </summary>
    private void AssertCountersCoverThePings(DaemonProcess daemon)
    {
        daemon.Signal(15);
        Assert.True(daemon.WaitForExit() == 0, daemon.Stderr);
        var counters = Assert.Single(daemon.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        _output.WriteLine("counters: " + counters);
        using var json = JsonDocument.Parse(counters);
        var totals = json.RootElement;
        Assert.InRange(totals.GetProperty("txFrames").GetInt64(), PingCount, long.MaxValue);
        Assert.InRange(totals.GetProperty("rxFrames").GetInt64(), PingCount, long.MaxValue);
        Assert.Equal(0, totals.GetProperty("txInvalid").GetInt64());
        Assert.Equal(0, totals.GetProperty("rxDropped").GetInt64());
    }

    public void Dispose()
    {
        _netNamespace.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
