using IoVirt.Abi.Net;
using IoVirt.Backends.Net.Switching;
using IoVirt.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;
using static IoVirt.Testing.EthernetFrames;

namespace IoVirt.Tests.Net;

/// <summary>Guests on a <see cref="NetSwitch"/> whose uplink is a <see cref="WirePort"/> the test plays.</summary>
public sealed class NetSwitchUplinkTests : IDisposable
{
    private static readonly byte[] MacA = [0x02, 0, 0, 0, 0, 0x0a];
    private static readonly byte[] MacB = [0x02, 0, 0, 0, 0, 0x0b];
    private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    private readonly WirePort _wire = new();
    private readonly FakeTimeProvider _time = new();
    private readonly SwitchBed _bed;

    private readonly ITestOutputHelper _output;

    public NetSwitchUplinkTests(ITestOutputHelper output)
    {
        _output = output;
        _bed = new SwitchBed(_wire, new UplinkOptions { MaxLearned = 16, Aging = TimeSpan.FromSeconds(10), Time = _time });
    }

    private UplinkCounters Uplink => _bed.Switch.UplinkCounters;

    [Fact]
    public void Broadcasts_cross_the_uplink_both_ways_and_a_unicast_from_outside_reaches_only_its_guest()
    {
        var (_, a) = _bed.Guest("a", MacA);
        var (_, b) = _bed.Guest("b", MacB);
        var broadcast = Frame(Broadcast, MacA, 90);
        a.Send(Header(), broadcast);
        Assert.Equal(broadcast, _wire.Next());
        Assert.Equal(broadcast, b.Receive(out _)![VirtioNetHdr.Size..]);

        var fromOutside = Frame(Broadcast, PeerMac, 70);
        _wire.Inject(fromOutside);
        Assert.Equal(fromOutside, a.Receive(out _)![VirtioNetHdr.Size..]);
        Assert.Equal(fromOutside, b.Receive(out _)![VirtioNetHdr.Size..]);

        var toA = Frame(MacA, PeerMac, 200);
        _wire.Inject(toA);
        Assert.Equal(toA, a.Receive(out _)![VirtioNetHdr.Size..]);
        Assert.Null(b.Receive(out _, timeoutMs: 200));
        Assert.Equal(2, Uplink.Received);
        Assert.Equal(1, Uplink.Sent);
    }

    [Fact]
    public void A_MAC_learned_on_the_uplink_takes_unicast_there_alone_until_it_ages_out()
    {
        var (_, a) = _bed.Guest("a", MacA);
        var (_, b) = _bed.Guest("b", MacB);
        var toPeer = Frame(PeerMac, MacA, 100);
        a.Send(Header(), toPeer); // unknown: flooded, the uplink included
        Assert.Equal(toPeer, _wire.Next());
        Assert.Equal(toPeer, b.Receive(out _)![VirtioNetHdr.Size..]);

        _wire.Inject(Frame(MacA, PeerMac, 60));
        Assert.NotNull(a.Receive(out _));
        Assert.Equal(1, _bed.Switch.LearnedCount);
        a.Send(Header(), toPeer);
        Assert.Equal(toPeer, _wire.Next());
        Assert.Null(b.Receive(out _, timeoutMs: 200));

        _time.Advance(TimeSpan.FromSeconds(11));
        a.Send(Header(), toPeer);
        Assert.Equal(toPeer, _wire.Next());
        Assert.Equal(toPeer, b.Receive(out _)![VirtioNetHdr.Size..]);
        Assert.Equal(0, _bed.Switch.LearnedCount);
        Assert.Equal(1, Uplink.Learned);
    }

    [Fact]
    public void A_flood_of_made_up_sources_learns_no_more_than_the_cap_and_guests_still_talk()
    {
        var (_, a) = _bed.Guest("a", MacA);
        var (_, b) = _bed.Guest("b", MacB);
        var random = new Random(6);
        const int Sources = 200;
        for (var i = 0; i < Sources; i++)
        {
            var source = new byte[6];
            random.NextBytes(source);
            source[0] = 0x02; // a locally administered unicast
            source[5] = (byte)i; // all different
            _wire.Inject(Tagged(Frame(Broadcast, source, 64), 9)); // a VLAN without guests
        }

        Assert.True(SpinWait.SpinUntil(() => Uplink.Received == Sources, 5000), $"received {Uplink.Received}");
        Assert.Equal(16, _bed.Switch.LearnedCount);
        Assert.Equal(16, Uplink.Learned);
        Assert.Equal(Sources - 16, Uplink.LearnRefused);

        var toB = Frame(MacB, MacA, 300);
        a.Send(Header(), toB);
        Assert.Equal(toB, b.Receive(out _)![VirtioNetHdr.Size..]);
        Assert.Null(_wire.Next(timeoutMs: 200));
    }

    [Fact]
    public void The_uplink_is_a_trunk_tagging_each_guests_VLAN_and_untagged_frames_belong_to_VLAN_0()
    {
        var (_, a) = _bed.Guest("a", MacA, vlan: 5);
        var (_, b) = _bed.Guest("b", MacB);
        var fromA = Frame(Broadcast, MacA, 120);
        a.Send(Header(), fromA);
        Assert.Equal(Tagged(fromA, 5), _wire.Next());
        var fromB = Frame(Broadcast, MacB, 120);
        b.Send(Header(), fromB);
        Assert.Equal(fromB, _wire.Next());

        var onFive = Frame(Broadcast, PeerMac, 80, seed: 5);
        _wire.Inject(Tagged(onFive, 5));
        Assert.Equal(onFive, a.Receive(out _)![VirtioNetHdr.Size..]);
        var untagged = Frame(Broadcast, PeerMac, 80, seed: 0);
        _wire.Inject(untagged);
        Assert.Equal(untagged, b.Receive(out _)![VirtioNetHdr.Size..]);
        Assert.Null(a.Receive(out _, timeoutMs: 200));
        Assert.Null(b.Receive(out _, timeoutMs: 100));

        _wire.Inject(Tagged(Tagged(onFive, 5), 5)); // a tag inside a tag reaches no one
        Assert.Null(a.Receive(out _, timeoutMs: 200));
        Assert.True(SpinWait.SpinUntil(() => Uplink.Malformed == 1, 5000));
    }

    [Fact]
    public void A_frame_from_outside_posing_as_a_guest_is_dropped_counted_and_not_learned()
    {
        var (_, a) = _bed.Guest("a", MacA);
        var (_, b) = _bed.Guest("b", MacB);
        _wire.Inject(Frame(Broadcast, MacA, 64));
        _wire.Inject(Frame(MacB, MacA, 64));
        Assert.Null(b.Receive(out _, timeoutMs: 300));
        Assert.Null(a.Receive(out _, timeoutMs: 100));
        Assert.Equal(2, Uplink.Spoofed);
        Assert.Equal(0, _bed.Switch.LearnedCount);

        var toB = Frame(MacB, MacA, 64);
        a.Send(Header(), toB);
        Assert.Equal(toB, b.Receive(out _)![VirtioNetHdr.Size..]);
    }

    [Fact]
    public void Backlogged_guests_share_the_uplink_by_weight()
    {
        var (portA, a) = _bed.Guest("a", MacA, weight: 1);
        var (portB, b) = _bed.Guest("b", MacB, weight: 2);
        var sent = SendBacklogged((portA, a, 1000), (portB, b, 1000), count: 360);

        var shareB = sent.Count(frame => frame.AsSpan(6, 6).SequenceEqual(MacB)) / 360.0;
        _output.WriteLine($"weights 1:2, 1000-byte frames: B sent {shareB:P1} of the first 360");
        Assert.InRange(shareB, 0.62, 0.71);
    }

    [Fact]
    public void A_guest_of_small_frames_and_one_of_large_frames_get_equal_cost_of_the_uplink()
    {
        var (portA, a) = _bed.Guest("a", MacA);
        var (portB, b) = _bed.Guest("b", MacB);
        var sent = SendBacklogged((portA, a, 64), (portB, b, 1400), count: 300);

        var model = new UplinkOptions().Cost;
        double Cost(byte[] frame) => model.Cost(VirtioNetHdr.Size + frame.Length);
        var costA = sent.Where(frame => frame.AsSpan(6, 6).SequenceEqual(MacA)).Sum(Cost);
        var shareA = costA / sent.Sum(Cost);
        _output.WriteLine($"equal weights, 64- and 1400-byte frames: A had {shareA:P1} of the cost, {sent.Count(f => f.Length == 64)} of 300 frames");
        Assert.InRange(shareA, 0.45, 0.55);
    }

    /// <summary>
    /// Fills two guests' uplink queues to overflowing while the wire holds the switch, lets go,
    /// and returns the first <paramref name="count"/> frames sent after the one the switch held,
    /// all sent while both queues still had frames.
    /// </summary>
    private List<byte[]> SendBacklogged((SwitchPort Port, NetDriver Driver, int Size) first, (SwitchPort Port, NetDriver Driver, int Size) second, int count)
    {
        _wire.Inject(Frame(Broadcast, PeerMac, 60)); // learned: frames for it go to the uplink alone
        Assert.True(SpinWait.SpinUntil(() => _bed.Switch.LearnedCount == 1, 5000));
        _wire.Hold();
        const int Frames = 300;
        for (var burst = 0; burst < Frames; burst += 30)
        {
            foreach (var (port, driver, size) in new[] { first, second })
            {
                for (var i = 0; i < 30; i++)
                {
                    driver.Send(Header(), Frame(PeerMac, Bytes(port.Mac), size));
                }

                Assert.True(driver.WaitTransmitted());
            }
        }

        Assert.True(
            SpinWait.SpinUntil(() => first.Port.Counters.UplinkOverflowed > 0 && second.Port.Counters.UplinkOverflowed > 0, 5000),
            $"uplink drops {first.Port.Counters.UplinkOverflowed} and {second.Port.Counters.UplinkOverflowed}");
        _wire.Release();
        Assert.NotNull(_wire.Next());
        var sent = Enumerable.Range(0, count).Select(_ => _wire.Next()).ToList();
        Assert.DoesNotContain(null, sent);
        return sent!;
    }

    public void Dispose()
    {
        _wire.Release();
        _bed.Dispose();
    }
}
