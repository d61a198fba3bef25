using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
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
[Trait(Tier.Name, Tier.Integration)]
public sealed class QemuNetTests : IDisposable
{
    private const string BridgeAddress = "10.0.0.1";
    private const int PingCount = 3;

    private readonly ITestOutputHelper _output;
    private readonly NetNamespace _netNamespace = NetNamespace.WithBridge("br0", BridgeAddress + "/24");
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-qemu-net-").FullName;

    public QemuNetTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void A_guest_pings_the_namespace_bridge_through_iovirt_net_on_a_tap()
    {
        using var daemon = StartDaemonOnBridge("tap0");
        var clock = Stopwatch.StartNew();

        var (exit, console) = QemuGuest.Run(
            GuestPing.Script("10.0.0.2/24", BridgeAddress, PingCount),
            QemuGuest.VhostUserNic(daemon.Socket, "52:54:00:12:34:56"),
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
            QemuGuest.VhostUserNic(first.Socket, "52:54:00:12:34:56"),
            timeoutSeconds: 120));
        var secondGuest = Task.Run(() => QemuGuest.Run(
            GuestPing.Script("10.0.0.3/24", "10.0.0.2", PingCount, answerPeerPings: PingCount),
            QemuGuest.VhostUserNic(second.Socket, "52:54:00:12:34:57"),
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

    [Fact]
    public void A_two_vcpu_guest_with_two_queue_pairs_on_iovirt_net_pings_the_namespace_bridge()
    {
        using var daemon = StartDaemonOnBridge("tap0", queuePairs: 2);
        var clock = Stopwatch.StartNew();

        // The driver enables every pair by itself once MQ is negotiated; sysfs lists them.
        var script = "#!/bin/sh\necho \"NET-QUEUES $(echo $(ls /sys/class/net/eth0/queues))\"\n"
            + GuestPing.Script("10.0.0.2/24", BridgeAddress, PingCount);
        var (exit, console) = QemuGuest.Run(script, ["-smp", "2", .. QemuGuest.VhostUserNic(daemon.Socket, "52:54:00:12:34:56", queuePairs: 2)], timeoutSeconds: 90);

        _output.WriteLine($"two-vCPU guest boot, ping of the bridge over two queue pairs and power-off: {clock.ElapsedMilliseconds} ms");
        _output.WriteLine(console);
        Assert.True(exit == 0, console + daemon.Process.Stderr);
        Assert.Contains("NET-QUEUES rx-0 rx-1 tx-0 tx-1", console, StringComparison.Ordinal);
        Assert.Equal(new PingResult(BridgeAddress, PingCount, PingCount, 0), GuestPing.Parse(console));
        AssertCountersCoverThePings(daemon.Process);
    }

    [Fact]
    public async Task Tcp_bulk_data_crosses_iovirt_net_intact_both_ways_in_frames_larger_than_the_mtu()
    {
        const int SendPort = 5000;
        const int ReceivePort = 5001;
        const int TransferBytes = 4 << 20;
        using var daemon = StartDaemonOnBridge("tap0");
        using var sink = _netNamespace.ListenTcp(SendPort);
        using var server = _netNamespace.ListenTcp(ReceivePort);
        var guestReceives = RandomNumberGenerator.GetBytes(TransferBytes);
        var received = ReceiveToEndAsync(sink);
        var served = ServeOverHttpAsync(server, guestReceives);
        var clock = Stopwatch.StartNew();

        var (exit, console) = await Task.Run(() => QemuGuest.Run(
            GuestTcpTransfer.Script("10.0.0.2/24", BridgeAddress, SendPort, ReceivePort, TransferBytes),
            QemuGuest.VhostUserNic(daemon.Socket, "52:54:00:12:34:56"),
            timeoutSeconds: 120));

        _output.WriteLine($"guest boot, {TransferBytes >> 20} MiB each way over TCP through iovirt net and power-off: {clock.ElapsedMilliseconds} ms");
        _output.WriteLine(console);
        Assert.True(exit == 0, console + daemon.Process.Stderr);
        var (sentBytes, sentMd5) = await received.WaitAsync(TimeSpan.FromSeconds(30));
        await served.WaitAsync(TimeSpan.FromSeconds(30));
        var guest = GuestTcpTransfer.Parse(console);
        Assert.Equal(TransferBytes, sentBytes);
        Assert.Equal(guest.SentMd5, sentMd5);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(guestReceives)), guest.ReceivedMd5);

        // Segmented at the MTU, the data alone would take a frame per TCP segment of at most 1460
        // bytes; ACKs and ARP only add frames. Fewer frames than that means the guest's TSO frames
        // (and the host stack's GSO frames to the guest) crossed the TAP whole.
        var totals = StopAndReadCounters(daemon.Process);
        Assert.Equal(0, totals.GetProperty("txInvalid").GetInt64());
        Assert.Equal(0, totals.GetProperty("rxDropped").GetInt64());
        AssertFewerFramesThanMtuSegments(totals, "tx", TransferBytes);
        AssertFewerFramesThanMtuSegments(totals, "rx", TransferBytes);
    }

    private ServedDaemon StartDaemonOnBridge(string tap, int queuePairs = 1) =>
        ServedDaemon.NetOnBridge(_netNamespace, _directory, tap, "br0", queuePairs);

    /// <summary>
    /// The echo requests (and ARP) went from the guest to the TAP, the replies came back, and no
    /// chain was invalid or frame lost.
    /// </summary>
    private void AssertCountersCoverThePings(DaemonProcess daemon)
    {
        var totals = StopAndReadCounters(daemon);
        Assert.InRange(totals.GetProperty("txFrames").GetInt64(), PingCount, long.MaxValue);
        Assert.InRange(totals.GetProperty("rxFrames").GetInt64(), PingCount, long.MaxValue);
        Assert.Equal(0, totals.GetProperty("txInvalid").GetInt64());
        Assert.Equal(0, totals.GetProperty("rxDropped").GetInt64());
    }

    /// <summary>On SIGTERM the daemon exits 0 and prints its counters as one JSON line.</summary>
    private JsonElement StopAndReadCounters(DaemonProcess daemon)
    {
        var counters = daemon.StopAndReadReport();
        _output.WriteLine("counters: " + counters);
        return counters;
    }

    /// <summary>
    /// One way ("tx": guest to TAP, "rx": TAP to guest) carried <paramref name="dataBytes"/> of
    /// TCP data in fewer frames than segments of at most 1460 bytes (the largest payload a
    /// 1500-byte MTU allows) would need, counting every frame that way, acknowledgements of the
    /// other direction included: only frames larger than the MTU can do that.
    /// </summary>
    private static void AssertFewerFramesThanMtuSegments(JsonElement totals, string direction, long dataBytes)
    {
        const int MaxSegmentPayload = 1460;
        var frames = totals.GetProperty(direction + "Frames").GetInt64();
        var bytes = totals.GetProperty(direction + "Bytes").GetInt64();
        Assert.True(frames > 0 && frames < dataBytes / MaxSegmentPayload, $"{direction}: {bytes} bytes in {frames} frames");
    }

    /// <summary>Accepts one connection and reads it to its end: how many bytes came and their MD5 (lowercase hex).</summary>
    private static async Task<(long Bytes, string Md5)> ReceiveToEndAsync(Socket listener)
    {
        using var connection = await listener.AcceptAsync();
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await connection.ReceiveAsync(buffer)) > 0)
        {
            md5.AppendData(buffer, 0, read);
            total += read;
        }

        return (total, Convert.ToHexStringLower(md5.GetHashAndReset()));
    }

    /// <summary>
    /// Accepts one connection, reads an HTTP request's head and answers with <paramref name="body"/>
    /// (busybox wget is the client). It closes its side after the body and waits for the
    /// client's, so no unread byte makes the kernel reset the connection under the client.
    /// </summary>
    private static async Task ServeOverHttpAsync(Socket listener, byte[] body)
    {
        using var connection = await listener.AcceptAsync();
        var request = new StringBuilder();
        var buffer = new byte[4096];
        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await connection.ReceiveAsync(buffer);
            if (read == 0)
            {
                throw new InvalidOperationException("the client closed before its request ended: " + request);
            }

            request.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        await connection.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Length: {body.Length}\r\n\r\n"));
        await connection.SendAsync(body);
        connection.Shutdown(SocketShutdown.Send);
        while (await connection.ReceiveAsync(buffer) > 0)
        {
        }
    }

    public void Dispose()
    {
        _netNamespace.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
