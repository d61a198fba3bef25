using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// The testpmd fixture against DPDK itself: DPDK's vhost-user back end and its virtio_user front end
/// on one socket, each on its own CPU. What one side sent, the other counted, up to the frames on the
/// ring at the moment the connection closed; so the fixture's counters can be trusted when the back
/// end is ours.
/// </summary>
[Collection(TestpmdCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class TestpmdTests : IDisposable
{
    /// <summary>At most this many frames are in flight: one ring's worth, put there by the sender and not yet taken.</summary>
    private static readonly long RingSize = new TestpmdOptions(TestpmdRole.VirtioUserFrontEnd, "", "").QueueSize;

    private static readonly TimeSpan Connected = TimeSpan.FromSeconds(10);
    private readonly string _socket = Path.Combine(Directory.CreateTempSubdirectory("iovirt-testpmd-").FullName, "vhost.sock");

    [Fact]
    public void What_the_front_end_transmits_the_dpdk_back_end_receives()
    {
        using var backEnd = Testpmd.Start(new TestpmdOptions(TestpmdRole.VhostBackEnd, _socket, "rxonly") { Cpu = 1 });
        WaitForListening(backEnd);
        using var frontEnd = Testpmd.Start(new TestpmdOptions(TestpmdRole.VirtioUserFrontEnd, _socket, "txonly") { Cpu = 0 });

        var rate = backEnd.MeasurePacketRate(TestpmdCounter.Rx, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        // The sender stops first, so the receiver takes what is still on the ring, except (rarely) the
        // last bursts, which it may not reach before the stopping side takes the ring back.
        var sent = frontEnd.Stop()[0];
        var received = backEnd.Stop()[0];

        Assert.True(rate > 10_000, $"{rate:N0} packets/s\n{backEnd.Output}");
        Assert.True(sent.TxPackets > 0, frontEnd.Output);
        Assert.InRange(sent.TxPackets - received.RxPackets, 0, RingSize);
        Assert.Equal(0, received.TxPackets);
    }

    [Fact]
    public void What_the_dpdk_back_end_transmits_the_front_end_receives()
    {
        using var backEnd = Testpmd.Start(new TestpmdOptions(TestpmdRole.VhostBackEnd, _socket, "txonly") { Cpu = 1 });
        WaitForListening(backEnd);
        using var frontEnd = Testpmd.Start(new TestpmdOptions(TestpmdRole.VirtioUserFrontEnd, _socket, "rxonly") { Cpu = 0 });

        var rate = frontEnd.MeasurePacketRate(TestpmdCounter.Rx, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        // Producer first again; the front end may drop what was on its ring when the back end hung up.
        var sent = backEnd.Stop()[0];
        var received = frontEnd.Stop()[0];

        Assert.True(rate > 10_000, $"{rate:N0} packets/s\n{frontEnd.Output}");
        Assert.True(received.RxPackets > 0, frontEnd.Output);
        Assert.InRange(sent.TxPackets - received.RxPackets, 0, RingSize);
    }

    [Fact]
    public void The_final_forward_statistics_are_read_per_port()
    {
        const string Stdout = """
            Telling cores to stop...
              ---------------------- Forward statistics for port 0  ----------------------
              RX-packets: 10405472       RX-dropped: 0             RX-total: 10405472
              TX-packets: 12             TX-dropped: 35053472      TX-total: 35053484
              ----------------------------------------------------------------------------

              ---------------------- Forward statistics for port 1  ----------------------
              RX-packets: 7              RX-dropped: 3             RX-total: 10
              TX-packets: 0              TX-dropped: 0             TX-total: 0
              ----------------------------------------------------------------------------

              +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++
              RX-packets: 10405479       RX-dropped: 3             RX-total: 10405482
              TX-packets: 12             TX-dropped: 35053472      TX-total: 35053484
            """;

        var ports = Testpmd.ParseForwardStatistics(Stdout.ReplaceLineEndings("\n"));

        Assert.Equal(2, ports.Count);
        Assert.Equal(new TestpmdPortStats(10405472, 0, 12, 35053472), ports[0]);
        Assert.Equal(new TestpmdPortStats(7, 3, 0, 0), ports[1]);
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_socket)!, recursive: true);

    /// <summary>The back end forwards (and prints samples) only once its socket listens.</summary>
    private void WaitForListening(Testpmd backEnd) => backEnd.WaitForSample(_ => File.Exists(_socket), Connected);
}

/// <summary>Each testpmd spins on a core and the machine may have two: run these tests one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TestpmdCollection
{
    public const string Name = "DPDK testpmd";
}
