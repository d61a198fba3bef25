using IoVirt.Backends.Rng;
using IoVirt.Testing;
using IoVirt.VhostUser;

namespace IoVirt.Tests.VhostUser;

/// <summary>A server's connections, the ones closed for breaking the protocol, and whether one is open reach a metrics listener by socket path.</summary>
public sealed class VhostUserMetricsTests
{
    [Fact]
    public void Connections_protocol_breaks_and_the_current_connection_are_reported_by_socket()
    {
        using var metrics = new VhostUserMetrics();
        using var recorder = new MetricsRecorder(metrics.Meter);
        using var bed = new VhostUserTestBed(new RngDevice());
        metrics.Add(bed.Server);
        var socket = ("socket", (object)bed.SocketPath);

        using (var bad = Handshake.Connect(bed, replyAck: false))
        {
            bad.SendRaw(12345, (uint)IoVirt.Abi.VhostUser.VhostUserHeaderFlags.Version1, new byte[7], [], expectReply: false);
            Assert.True(bad.IsClosedByPeer());
        }

        using var good = Handshake.Connect(bed);
        _ = good.GetFeatures(); // served, so the server has taken this connection
        recorder.Observe();
        Assert.Equal(2, recorder.Value("iovirt.vhost_user.connections", socket));
        Assert.Equal(1, recorder.Value("iovirt.vhost_user.connection_errors", socket));
        Assert.Equal(1, recorder.Value("iovirt.vhost_user.connected", socket));

        metrics.Remove(bed.Server);
        recorder.Reset();
        recorder.Observe();
        Assert.Empty(recorder.Samples("iovirt.vhost_user.connections"));
    }
}
