using IoVirt.Abi.Net;
using IoVirt.Backends.Net;
using IoVirt.Testing;
using Microsoft.Extensions.Logging;
using static IoVirt.Testing.EthernetFrames;

namespace IoVirt.Tests.Net;

/// <summary>An uplink whose port throws: the switch's uplink thread logs it and tries again; the process and the guests go on.</summary>
public sealed class NetSwitchUplinkFaultTests : IDisposable
{
    private static readonly byte[] MacA = [0x02, 0, 0, 0, 0, 0x0a];
    private static readonly byte[] MacB = [0x02, 0, 0, 0, 0, 0x0b];
    private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    private readonly WirePort _wire = new();
    private readonly FailingPort _uplink;
    private readonly RecordingLogger _log = new();
    private readonly SwitchBed _bed;

    public NetSwitchUplinkFaultTests()
    {
        _uplink = new FailingPort(_wire);
        _bed = new SwitchBed(_uplink, log: _log);
    }

    [Fact]
    public void A_throwing_uplink_is_logged_and_retried_while_the_guests_still_reach_each_other()
    {
        var (_, a) = _bed.Guest("a", MacA);
        var (_, b) = _bed.Guest("b", MacB);
        _uplink.Failing = true;
        _wire.Inject(Frame(Broadcast, PeerMac, 60));
        SpinWait.SpinUntil(() => _log.Contains(LogLevel.Error, "switch uplink test wire failed"), TimeSpan.FromSeconds(10));
        Assert.True(_log.Contains(LogLevel.Error, "switch uplink test wire failed"), "the uplink's failure was not logged");

        var toB = Frame(MacB, MacA, 100);
        a.Send(Header(), toB);
        Assert.Equal(toB, b.Receive(out _)![VirtioNetHdr.Size..]);

        // Once the port works again, the next try takes what waited on it.
        _uplink.Failing = false;
        var fromOutside = Frame(Broadcast, PeerMac, 70);
        _wire.Inject(fromOutside);
        byte[]? seen;
        do
        {
            seen = a.Receive(out _, timeoutMs: 10_000)?[VirtioNetHdr.Size..];
        }
        while (seen is not null && !seen.AsSpan().SequenceEqual(fromOutside));

        Assert.Equal(fromOutside, seen);
    }

    public void Dispose() => _bed.Dispose();

    /// <summary>A port whose receive throws while <see cref="Failing"/> is set, as a TAP that went away would.</summary>
    private sealed class FailingPort(INetPort inner) : INetPort
    {
        public volatile bool Failing;

        public string Description => inner.Description;

        public NetOffloads TransmitOffloads => inner.TransmitOffloads;

        public NetOffloads ReceiveOffloads => inner.ReceiveOffloads;

        public void AcceptOffloads(NetOffloads offloads) => inner.AcceptOffloads(offloads);

        public bool Transmit(int pair, ReadOnlySpan<byte> packet) => inner.Transmit(pair, packet);

        public void TransmitBurstDone(int pair) => inner.TransmitBurstDone(pair);

        public int Receive(int pair, Span<byte> destination) =>
            Failing ? throw new IOException("injected uplink fault") : inner.Receive(pair, destination);

        public void Reset() => inner.Reset();

        public int ReceiveEventSource(int pair) => inner.ReceiveEventSource(pair);

        public void Dispose() => inner.Dispose();
    }
}
