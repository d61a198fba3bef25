using System.Buffers.Binary;
using IoVirt.Abi.Net;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;
using IoVirt.Testing;
using IoVirt.Tests.Net;
using static IoVirt.Testing.EthernetFrames;

namespace IoVirt.Tests.Integration;

/// <summary>
/// A switch whose uplink is a real TAP, made in a namespace the test owns and enslaved to the
/// namespace's bridge: the Linux stack behind the bridge answers guests' ARP requests and pings,
/// so broadcast out, unicast in and learning are checked against the kernel. (The VLAN trunk is
/// checked in process only: a kernel without 802.1Q devices or bridge VLAN filtering, as in some
/// test containers, has nothing to answer tagged frames.)
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class SwitchTapTests : IDisposable
{
    private static readonly byte[] MacA = [0x52, 0x54, 0x00, 0, 0, 0x0a];
    private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    private static readonly byte[] GuestIp = [10, 0, 0, 2];
    private static readonly byte[] BridgeIp = [10, 0, 0, 1];

    private readonly NetNamespace _netNamespace = NetNamespace.WithBridge("br0", "10.0.0.1/24");
    private readonly SwitchBed _bed;

    public SwitchTapTests()
    {
        try
        {
            _bed = new SwitchBed(_netNamespace.Inside(() => new TapPort("tap0", pairs: 1)));
            _netNamespace.Enslave("tap0", "br0");
        }
        catch
        {
            // xunit does not dispose a test class whose constructor threw.
            Dispose();
            throw;
        }
    }

    [Fact]
    public void A_guest_finds_the_bridge_by_broadcast_ARP_and_pings_it_through_the_learned_MAC()
    {
        var (_, guest) = _bed.Guest("a", MacA);

        guest.Send(Header(), ArpRequest(MacA, GuestIp, BridgeIp));
        var reply = ReceiveMatching(guest, frame => IsArpReplyFrom(frame, BridgeIp));
        var bridgeMac = reply.AsSpan(6, 6).ToArray();
        Assert.True(_bed.Switch.LearnedCount >= 1);

        guest.Send(Header(), EchoRequest(bridgeMac, MacA, GuestIp, BridgeIp, sequence: 1));
        var echo = ReceiveMatching(guest, frame => IsEchoReplyFrom(frame, BridgeIp));
        Assert.Equal(bridgeMac, echo.AsSpan(6, 6).ToArray());
        Assert.True(_bed.Switch.UplinkCounters.Sent >= 2, $"sent {_bed.Switch.UplinkCounters.Sent}");
        Assert.Equal(0, _bed.Switch.UplinkCounters.Spoofed);
    }

    /// <summary>The first frame the guest receives that <paramref name="match"/> accepts (the bridge also sends IPv6 multicasts); fails after 5 s.</summary>
    private static byte[] ReceiveMatching(NetDriver guest, Func<byte[], bool> match)
    {
        var deadline = Environment.TickCount64 + 5000;
        while (Environment.TickCount64 < deadline)
        {
            var packet = guest.Receive(out _, timeoutMs: (int)Math.Max(1, deadline - Environment.TickCount64));
            if (packet is null)
            {
                break;
            }

            guest.PostReceiveBuffers(1);
            var frame = packet[VirtioNetHdr.Size..];
            if (match(frame))
            {
                return frame;
            }
        }

        Assert.Fail("the guest received no matching frame within 5 s");
        return [];
    }

    private static byte[] ArpRequest(byte[] mac, byte[] ip, byte[] target)
    {
        var frame = Frame(Broadcast, mac, 60, type: 0x0806);
        var arp = frame.AsSpan(14);
        arp[..28].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1); // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], 0x0800);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], 1); // request
        mac.CopyTo(arp[8..]);
        ip.CopyTo(arp[14..]);
        target.CopyTo(arp[24..]);
        return frame;
    }

    private static bool IsArpReplyFrom(byte[] frame, byte[] ip) =>
        frame.Length >= 42 && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == 0x0806
        && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(20)) == 2 && frame.AsSpan(28, 4).SequenceEqual(ip);

    private static byte[] EchoRequest(byte[] destination, byte[] source, byte[] fromIp, byte[] toIp, ushort sequence)
    {
        const int Payload = 32;
        var frame = Frame(destination, source, 14 + 20 + 8 + Payload, type: 0x0800);
        var ip = frame.AsSpan(14, 20);
        ip.Clear();
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 20 + 8 + Payload);
        ip[8] = 64;
        ip[9] = 1; // ICMP
        fromIp.CopyTo(ip[12..]);
        toIp.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], unchecked((ushort)~InternetChecksum.Sum(ip)));
        var icmp = frame.AsSpan(34);
        icmp[..8].Clear();
        icmp[0] = 8; // echo request
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], 0x1d06);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], unchecked((ushort)~InternetChecksum.Sum(icmp)));
        return frame;
    }

    private static bool IsEchoReplyFrom(byte[] frame, byte[] ip) =>
        frame.Length >= 42 && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == 0x0800
        && frame[23] == 1 && frame.AsSpan(26, 4).SequenceEqual(ip) && frame[34] == 0;

    public void Dispose()
    {
        _bed?.Dispose();
        _netNamespace.Dispose();
    }
}
