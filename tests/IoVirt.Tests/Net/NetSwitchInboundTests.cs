using IoVirt.Abi.Net;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Switching;
using IoVirt.Testing;
using Xunit.Abstractions;
using static IoVirt.Testing.EthernetFrames;

namespace IoVirt.Tests.Net;

/// <summary>
/// Several senders to one switch port whose guest side the test plays (taking frames through
/// <see cref="SwitchPort.Receive"/> when it chooses), the senders guests driven as drivers would.
/// </summary>
public sealed class NetSwitchInboundTests(ITestOutputHelper output) : IDisposable
{
    private static readonly byte[] MacA = [0x02, 0, 0, 0, 0, 0x0a];
    private static readonly byte[] MacB = [0x02, 0, 0, 0, 0, 0x0b];
    private static readonly byte[] MacC = [0x02, 0, 0, 0, 0, 0x0c];
    private static readonly byte[] MacR = [0x02, 0, 0, 0, 0, 0x0f];

    private readonly SwitchBed _bed = new();
    private readonly byte[] _received = new byte[VirtioNetHdr.Size + 1514];

    [Fact]
    public void Backlogged_senders_share_a_receiver_by_weight()
    {
        var receiver = _bed.Switch.AddPort("r", MacAddress.Read(MacR));
        var (portA, a) = _bed.Guest("a", MacA, weight: 1);
        var (portB, b) = _bed.Guest("b", MacB, weight: 2);
        Flood((portA, a, 1000), (portB, b, 1000));

        // Two flooders share the port's pool, about 170 frames each: B's two thirds of 240 fit in it.
        var taken = Take(receiver, 240);
        Assert.Equal(240, taken.Count);
        var shareB = taken.Count(frame => frame.AsSpan(6, 6).SequenceEqual(MacB)) / 240.0;
        output.WriteLine($"weights 1:2, 1000-byte frames: B had {shareB:P1} of the first 240 the receiver took");
        Assert.InRange(shareB, 0.62, 0.71);
    }

    [Fact]
    public void A_sender_of_small_frames_and_one_of_large_frames_get_equal_cost_of_a_receiver()
    {
        var receiver = _bed.Switch.AddPort("r", MacAddress.Read(MacR));
        var (portA, a) = _bed.Guest("a", MacA);
        var (portB, b) = _bed.Guest("b", MacB);
        Flood((portA, a, 64), (portB, b, 1400));

        // Equal cost is about 2.2 small frames to a large one: A's part of 200 (about 140) fits in its share of the pool.
        var taken = Take(receiver, 200);
        Assert.Equal(200, taken.Count);
        var model = new UplinkOptions().Cost;
        double Cost(byte[] frame) => model.Cost(VirtioNetHdr.Size + frame.Length);
        var shareA = taken.Where(frame => frame.AsSpan(6, 6).SequenceEqual(MacA)).Sum(Cost) / taken.Sum(Cost);
        output.WriteLine($"equal weights, 64- and 1400-byte frames: A had {shareA:P1} of the cost, {taken.Count(f => f.Length == 64)} of 200 frames");
        Assert.InRange(shareA, 0.45, 0.55);
    }

    [Fact]
    public void A_switchs_frame_memory_grows_with_its_ports_not_with_every_pair_of_them()
    {
        // 32 ports on one VLAN: a queue per pair of ports would be 32 x 31 x 256 frames, about 380 MB.
        using var netSwitch = new NetSwitch();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 32; i++)
        {
            _ = netSwitch.AddPort($"p{i}", MacAddress.Read([0x02, 0, 0, 0, 1, (byte)i]));
        }

        var perPort = (GC.GetAllocatedBytesForCurrentThread() - before) / 32;
        output.WriteLine($"{perPort:N0} bytes allocated per port");
        Assert.InRange(perPort, 2 * SwitchPort.InboundFrames * 1500, 4 * SwitchPort.InboundFrames * 1600);
    }

    [Fact]
    public void A_quiet_senders_frames_all_reach_a_receiver_another_floods()
    {
        var receiver = _bed.Switch.AddPort("r", MacAddress.Read(MacR));
        var (portA, a) = _bed.Guest("a", MacA);
        var (portC, c) = _bed.Guest("c", MacC);
        Send(a, Frame(MacR, MacA, 200), SwitchPort.InboundFrames + 30);
        const int Quiet = 20;
        var taken = new List<byte[]>();
        for (var i = 0; i < Quiet; i++)
        {
            taken.AddRange(Take(receiver, 10));
            Send(a, Frame(MacR, MacA, 200), 30); // fills A's queue again first
            Send(c, Frame(MacR, MacC, 200, seed: (byte)i), 1);
        }

        taken.AddRange(Take(receiver, int.MaxValue));
        var fromC = taken.Count(frame => frame.AsSpan(6, 6).SequenceEqual(MacC));
        output.WriteLine($"C sent {Quiet}, the receiver took {fromC} of them and {taken.Count - fromC} of A's; A's drops {portA.Counters.ReceiverOverflowed}");
        Assert.Equal(Quiet, fromC);
        Assert.Equal(0, portC.Counters.ReceiverOverflowed);
        Assert.True(portA.Counters.ReceiverOverflowed > 0);
        Assert.Equal(portA.Counters.ReceiverOverflowed, receiver.Counters.Overflowed);
    }

    [Fact]
    public void A_guests_frames_all_reach_a_receiver_the_uplink_floods()
    {
        var wire = new WirePort(); // the switch owns it
        using var bed = new SwitchBed(wire);
        var receiver = bed.Switch.AddPort("r", MacAddress.Read(MacR));
        var (portA, a) = bed.Guest("a", MacA);
        const int Flood = SwitchPort.InboundFrames + 40;
        for (var i = 0; i < Flood; i++)
        {
            wire.Inject(Frame(MacR, PeerMac, 300));
        }

        Assert.True(SpinWait.SpinUntil(() => bed.Switch.UplinkCounters.ReceiverOverflowed == 40, 5000), $"dropped {bed.Switch.UplinkCounters.ReceiverOverflowed}");
        Send(a, Frame(MacR, MacA, 300), 10);

        var fromA = Take(receiver, int.MaxValue).Count(frame => frame.AsSpan(6, 6).SequenceEqual(MacA));
        Assert.Equal(10, fromA);
        Assert.Equal(0, portA.Counters.ReceiverOverflowed);
    }

    /// <summary>Sends from two guests in turns until both their queues at the receiver overflow.</summary>
    private static void Flood((SwitchPort Port, NetDriver Driver, int Size) first, (SwitchPort Port, NetDriver Driver, int Size) second)
    {
        for (var burst = 0; burst < SwitchPort.InboundFrames + 60; burst += 30)
        {
            Send(first.Driver, Frame(MacR, Bytes(first.Port.Mac), first.Size), 30);
            Send(second.Driver, Frame(MacR, Bytes(second.Port.Mac), second.Size), 30);
        }

        Assert.True(
            first.Port.Counters.ReceiverOverflowed > 0 && second.Port.Counters.ReceiverOverflowed > 0,
            $"drops at the receiver {first.Port.Counters.ReceiverOverflowed} and {second.Port.Counters.ReceiverOverflowed}");
    }

    /// <summary>Sends <paramref name="frame"/> <paramref name="count"/> times and waits until the switch has forwarded them.</summary>
    private static void Send(NetDriver driver, byte[] frame, int count)
    {
        for (var i = 0; i < count; i++)
        {
            driver.Send(Header(), frame);
            if (i % 30 == 29)
            {
                Assert.True(driver.WaitTransmitted()); // the transmit ring has room for fewer than a queue's worth
            }
        }

        Assert.True(driver.WaitTransmitted());
    }

    /// <summary>Takes up to <paramref name="count"/> frames (header removed) from the receiver, in the order it gives them.</summary>
    private List<byte[]> Take(SwitchPort receiver, int count)
    {
        var taken = new List<byte[]>();
        int length;
        while (taken.Count < count && (length = receiver.Receive(0, _received)) > 0)
        {
            taken.Add(_received[VirtioNetHdr.Size..length]);
        }

        return taken;
    }

    public void Dispose() => _bed.Dispose();
}
