using System.Text.Json;
using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// `iovirt net` driven by DPDK's virtio_user front end (testpmd) over vhost-user: frames counted on
/// one side are counted on the other. tx is front end → device, rx is device → front end, on both.
/// At most one ring of frames can differ: those on the ring when the connection closed, which one
/// side had put there and the other had not yet taken (TestpmdTests shows DPDK's own back end
/// behaves the same).
/// </summary>
[Collection(TestpmdCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class TestpmdNetTests : IDisposable
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private readonly string _socket = Path.Combine(Directory.CreateTempSubdirectory("iovirt-testpmd-net-").FullName, "net.sock");

    private static long RingSize => new TestpmdOptions(TestpmdRole.VirtioUserFrontEnd, "", "").QueueSize;

    [Fact]
    public void Every_frame_testpmd_transmits_is_counted_by_the_sink()
    {
        using var daemon = StartDaemon("sink");
        using var frontEnd = Testpmd.Start(new TestpmdOptions(TestpmdRole.VirtioUserFrontEnd, _socket, "txonly"));

        var rate = frontEnd.MeasurePacketRate(TestpmdCounter.Tx, Second, Second);
        var sent = frontEnd.Stop()[0];
        var ours = StopDaemon(daemon);

        Assert.True(rate > 10_000, $"{rate:N0} packets/s\n{frontEnd.Output}");
        Assert.True(sent.TxPackets > 0, frontEnd.Output);
        Assert.InRange(sent.TxPackets - ours.TxFrames, 0, RingSize);
        Assert.Equal(64 * ours.TxFrames, ours.TxBytes);
        Assert.Equal(0, ours.TxDropped);
        Assert.Equal(0, ours.RxFrames);
    }

    [Fact]
    public void Every_frame_the_source_publishes_is_received_by_testpmd_up_to_one_ring()
    {
        using var daemon = StartDaemon("source", "--frame-size", "64");
        using var frontEnd = Testpmd.Start(new TestpmdOptions(TestpmdRole.VirtioUserFrontEnd, _socket, "rxonly"));

        var rate = frontEnd.MeasurePacketRate(TestpmdCounter.Rx, Second, Second);
        // The producer stops first; the frames it had published and testpmd had not polled when the
        // connection closed are the difference.
        var ours = StopDaemon(daemon);
        var received = frontEnd.Stop()[0];

        Assert.True(rate > 10_000, $"{rate:N0} packets/s, ours {ours}, testpmd {received}\n{daemon.Stderr}\n{frontEnd.Output}");
        Assert.True(received.RxPackets > 0, frontEnd.Output);
        Assert.InRange(ours.RxFrames - received.RxPackets, 0, RingSize);
        Assert.Equal(0, received.TxPackets);
        Assert.Equal(0, ours.TxFrames);
    }

    [Theory]
    [InlineData("io", false)]
    [InlineData("macswap", false)]
    [InlineData("io", true)]
    public void Frames_testpmd_forwards_bounce_off_the_echo_port_and_come_back(string forwardMode, bool packedRings)
    {
        using var daemon = StartDaemon("echo");
        // --tx-first puts one burst in flight; from then on testpmd sends back whatever it receives.
        using var frontEnd = Testpmd.Start(new TestpmdOptions(TestpmdRole.VirtioUserFrontEnd, _socket, forwardMode) { TxFirst = true, PackedRings = packedRings });

        var rate = frontEnd.MeasurePacketRate(TestpmdCounter.Rx, Second, Second);
        var testpmd = frontEnd.Stop()[0];
        var ours = StopDaemon(daemon);

        Assert.True(rate > 10_000, $"{rate:N0} packets/s, ours {ours}, testpmd {testpmd}\n{daemon.Stderr}\n{frontEnd.Output}");
        Assert.InRange(testpmd.TxPackets - ours.TxFrames, 0, RingSize);
        Assert.InRange(ours.RxFrames - testpmd.RxPackets, 0, RingSize);
        // Every frame echoed was one the device took: at most the frames not yet echoed separate them.
        Assert.InRange(ours.TxFrames - ours.RxFrames, 0, RingSize);
        Assert.Equal(0, ours.RxDropped + ours.TxDropped);
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_socket)!, recursive: true);

    private DaemonProcess StartDaemon(string mode, params string[] options)
    {
        var daemon = DaemonProcess.Start(["net", "--socket", _socket, "--mode", mode, .. options]);
        daemon.WaitForSocket(_socket);
        Assert.True(daemon.IsConfined, "the daemon runs without its sandbox");
        return daemon;
    }

    /// <summary>SIGTERM, then the one JSON line of totals the daemon prints on its way out.</summary>
    private static NetCounts StopDaemon(DaemonProcess daemon)
    {
        daemon.Signal(15);
        Assert.True(daemon.WaitForExit() == 0, daemon.Stderr);
        using var json = JsonDocument.Parse(daemon.Stdout);
        long Count(string name) => json.RootElement.GetProperty(name).GetInt64();
        return new NetCounts(Count("txFrames"), Count("txBytes"), Count("txDropped"), Count("rxFrames"), Count("rxDropped"));
    }

    private sealed record NetCounts(long TxFrames, long TxBytes, long TxDropped, long RxFrames, long RxDropped);
}
