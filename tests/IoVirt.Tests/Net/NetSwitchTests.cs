using IoVirt.Abi.Net;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Switching;
using static IoVirt.Testing.EthernetFrames;

namespace IoVirt.Tests.Net;

/// <summary>Guests on a <see cref="NetSwitch"/>, each a network device on its own socket, driven as guest drivers would.</summary>
public sealed class NetSwitchTests : IDisposable
{
    private static readonly byte[] MacA = [0x02, 0, 0, 0, 0, 0x0a];
    private static readonly byte[] MacB = [0x02, 0, 0, 0, 0, 0x0b];
    private static readonly byte[] MacC = [0x02, 0, 0, 0, 0, 0x0c];
    private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    private readonly SwitchBed _bed = new();

    [Theory]
    [InlineData(0)]
    [InlineData(VirtioNetHdr.Size)]
    [InlineData(VirtioNetHdr.Size + 13)]
    public void A_packet_too_short_for_an_ethernet_header_is_refused_by_the_port_itself(int length)
    {
        var (portA, _) = _bed.Guest("a", MacA);
        var (_, b) = _bed.Guest("b", MacB);
        Assert.False(portA.Transmit(0, new byte[length]));
        Assert.Null(b.Receive(out _, timeoutMs: 100));
        Assert.Equal(0, portA.Counters.Forwarded);
    }

    [Fact]
    public void A_unicast_frame_reaches_only_the_port_that_owns_its_destination()
    {
        var (portA, a) = _bed.Guest("a", MacA);
        var (_, b) = _bed.Guest("b", MacB);
        var (_, c) = _bed.Guest("c", MacC);
        var frame = Frame(MacB, MacA, 300);
        a.Send(Header(), frame);
        Assert.Equal(frame, b.Receive(out _)![VirtioNetHdr.Size..]);
        Assert.Null(c.Receive(out _, timeoutMs: 200));
        Assert.Equal(1, portA.Counters.Forwarded);
    }

    [Fact]
    public void A_broadcast_reaches_every_other_port_of_the_same_vlan_and_no_other()
    {
        var (_, a) = _bed.Guest("a", MacA, vlan: 7);
        var (_, b) = _bed.Guest("b", MacB, vlan: 7);
        var (_, c) = _bed.Guest("c", MacC, vlan: 8);
        a.Send(Header(), Frame(Broadcast, MacA, 80));
        Assert.NotNull(b.Receive(out _));
        Assert.Null(c.Receive(out _, timeoutMs: 200));
        Assert.Null(a.Receive(out _, timeoutMs: 100)); // never back to the sender

        a.Send(Header(), Frame(MacC, MacA, 80)); // unicast across VLANs is dropped too
        Assert.Null(c.Receive(out _, timeoutMs: 200));
    }

    [Fact]
    public void A_guest_that_spoofs_its_source_MAC_reaches_no_one_and_is_counted()
    {
        var (portA, a) = _bed.Guest("a", MacA);
        var (_, b) = _bed.Guest("b", MacB);
        a.Send(Header(), Frame(MacB, MacC, 80));      // posing as C
        a.Send(Header(), Frame(Broadcast, MacB, 80)); // posing as B itself
        Assert.Null(b.Receive(out _, timeoutMs: 300));
        Assert.Equal(2, portA.Counters.Spoofed);
        Assert.Equal(0, portA.Counters.Forwarded);

        a.Send(Header(), Frame(MacB, MacA, 80));
        Assert.NotNull(b.Receive(out _));
    }

    [Fact]
    public void A_port_whose_guest_takes_nothing_drops_beyond_its_queue_and_the_others_go_on()
    {
        var (_, a) = _bed.Guest("a", MacA);
        var (portB, _) = _bed.Guest("b", MacB, receiveBuffers: 0);
        var (_, c) = _bed.Guest("c", MacC);
        for (var i = 0; i < SwitchPort.InboundFrames + 40; i++)
        {
            a.Send(Header(), Frame(MacB, MacA, 64));
            if (i % 32 == 31)
            {
                Assert.True(a.WaitTransmitted());
            }
        }

        Assert.True(a.WaitTransmitted());
        // B's queue holds InboundFrames and B's device one more, waiting for a receive buffer.
        Assert.True(SpinWait.SpinUntil(() => portB.Counters.Overflowed == 39, 5000), $"overflowed {portB.Counters.Overflowed}");
        var frame = Frame(MacC, MacA, 64);
        a.Send(Header(), frame);
        Assert.Equal(frame, c.Receive(out _)![VirtioNetHdr.Size..]);
    }

    [Fact]
    public void Two_ports_cannot_share_a_MAC()
    {
        _ = _bed.Switch.AddPort("a", MacAddress.Read(MacA));
        Assert.Throws<ArgumentException>(() => _bed.Switch.AddPort("a2", MacAddress.Read(MacA)));
        Assert.Throws<ArgumentException>(() => _bed.Switch.AddPort("m", MacAddress.Broadcast));
    }

    public void Dispose() => _bed.Dispose();
}
