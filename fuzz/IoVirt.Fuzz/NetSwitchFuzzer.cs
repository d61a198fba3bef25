using System.Buffers.Binary;
using IoVirt.Abi.Net;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Switching;
using IoVirt.Testing;
using Microsoft.Extensions.Time.Testing;

namespace IoVirt.Fuzz;

/// <summary>What one <c>net-switch</c> run did, so the smoke test can tell that the accepting paths were reached.</summary>
public readonly record struct NetSwitchOutcome(int FromGuests, int FromUplink, int SentUpTagged, int SentUpUntagged, long LearnRefused, long UplinkDropped);

/// <summary>
/// The <c>net-switch</c> target: a <see cref="NetSwitch"/> with guest ports 0 and 1 on VLAN 10
/// and port 2 untagged, and a <see cref="WirePort"/> uplink, run from a script (see
/// <see cref="NetSwitchScript"/>). Guests' packets pass the device's transmit check first, as
/// they would in a <see cref="NetDevice"/>. After every step the uplink thread is let settle, so
/// runs are deterministic, and the target checks: a frame a guest receives is untagged, has a
/// unicast source, and is one that another sender of the guest's VLAN sent (a guest with its
/// own source MAC, or the uplink, tag stripped, with a source MAC no guest owns); a frame sent up
/// is one a guest sent with its own MAC, tagged with that guest's VLAN (untagged for VLAN 0); the
/// learned MACs never exceed the cap. A guest's frame with another source MAC is never a
/// legitimate sender, so it may reach nobody.
/// </summary>
public static class NetSwitchTarget
{
    public const string Name = "net-switch";

    /// <summary>Small, so a short script fills the table and reaches the refusal path.</summary>
    public const int MaxLearned = 4;

    public const int Guests = 3;

    private const int Mtu = 1500;
    private const int Uplink = Guests;
    private const ushort TaggedVlan = 10;

    private static readonly TimeSpan Aging = TimeSpan.FromSeconds(8);
    private static readonly ushort[] GuestVlans = [TaggedVlan, TaggedVlan, 0];

    /// <summary>The largest frame the uplink's receive buffer holds (a tagged frame of the MTU); the wire truncates longer ones, as a TAP read would.</summary>
    private static readonly int MaxWireFrame = NetTransmitCheck.FrameFor(Mtu) + 4;

    public static NetSwitchOutcome Run(ReadOnlySpan<byte> input)
    {
        var time = new FakeTimeProvider();
        var wire = new WirePort();
        using var netSwitch = new NetSwitch(Mtu, wire, new UplinkOptions { MaxLearned = MaxLearned, Aging = Aging, QueueFrames = 8, Time = time });
        var ports = new SwitchPort[Guests];
        for (var i = 0; i < Guests; i++)
        {
            ports[i] = netSwitch.AddPort($"guest{i}", MacAddress.Read(NetSwitchScript.Macs[NetSwitchScript.Guest(i) - 1]), GuestVlans[i]);
        }

        var check = new NetTransmitCheck(NetOffloads.None, NetTransmitCheck.FrameFor(Mtu));
        var sent = new List<(int Sender, ushort Vlan, byte[] Frame)>();
        var received = new byte[VirtioNetHdr.Size + MaxWireFrame];
        int fromGuests = 0, fromUplink = 0, tagged = 0, untagged = 0;
        var rest = input;
        while (!rest.IsEmpty)
        {
            var op = rest[0] % 8;
            rest = rest[1..];
            switch (op)
            {
                case < Guests:
                    var packet = NetSwitchScript.TakeFrame(ref rest, VirtioNetHdr.Size, int.MaxValue);
                    if (check.Check(packet) == NetTxVerdict.Valid)
                    {
                        var frame = packet[VirtioNetHdr.Size..];
                        _ = ports[op].Transmit(0, packet);
                        if (MacAddress.Read(frame.AsSpan(6)) == ports[op].Mac)
                        {
                            sent.Add((op, GuestVlans[op], frame));
                        }
                    }

                    break;
                case Uplink:
                    var wired = NetSwitchScript.TakeFrame(ref rest, 0, MaxWireFrame);
                    wire.Inject(wired);
                    var (vlan, untaggedFrame) = Untag(wired);
                    sent.Add((Uplink, vlan, untaggedFrame));
                    break;
                case < 2 * Guests + 1:
                    var guest = op - Guests - 1;
                    int length;
                    while ((length = ports[guest].Receive(0, received)) > 0)
                    {
                        var fromUplinkNow = CheckDelivery(guest, received.AsSpan(VirtioNetHdr.Size, length - VirtioNetHdr.Size), sent);
                        fromUplink += fromUplinkNow ? 1 : 0;
                        fromGuests += fromUplinkNow ? 0 : 1;
                    }

                    break;
                default:
                    if (!rest.IsEmpty)
                    {
                        // Up to about 32 aging times, so entries expire and the full table is swept.
                        time.Advance(TimeSpan.FromTicks(rest[0] * Aging.Ticks / 8));
                        rest = rest[1..];
                    }

                    break;
            }

            wire.Settle();
            while (wire.Sent.TryTake(out var up))
            {
                if (CheckSentUp(up, sent))
                {
                    tagged++;
                }
                else
                {
                    untagged++;
                }
            }

            if (netSwitch.LearnedCount > MaxLearned)
            {
                throw new FuzzInvariantException($"{netSwitch.LearnedCount} MACs learned, more than the cap of {MaxLearned}");
            }
        }

        var counters = netSwitch.UplinkCounters;
        return new NetSwitchOutcome(fromGuests, fromUplink, tagged, untagged, counters.LearnRefused, counters.Spoofed + counters.Malformed);
    }

    /// <summary>Seeds: guest to guest, to and from the outside, the learning cap, and what must be dropped.</summary>
    public static int WriteSeeds(string directory)
    {
        var seeds = NetSwitchScript.Seeds();
        return SeedFiles.Write(directory, "seed", seeds);
    }

    /// <summary>Checks a frame guest <paramref name="guest"/> received against what was sent; true when it came from the uplink.</summary>
    private static bool CheckDelivery(int guest, ReadOnlySpan<byte> frame, List<(int Sender, ushort Vlan, byte[] Frame)> sent)
    {
        if (frame.Length < NetTransmitCheck.EthernetHeader || IsTagged(frame) || (frame[6] & 1) != 0)
        {
            throw new FuzzInvariantException($"guest {guest} received a short, tagged or multicast-sourced frame: {Convert.ToHexString(frame)}");
        }

        var source = frame.Slice(6, 6).ToArray();
        var owner = Array.FindIndex(NetSwitchScript.Macs, mac => source.AsSpan().SequenceEqual(mac));
        foreach (var (sender, vlan, bytes) in sent)
        {
            // A guest's MAC as source is only ever that guest's own frame.
            if (sender != guest && vlan == GuestVlans[guest] && (owner < 0 || owner >= Guests ? sender == Uplink : sender == owner) && frame.SequenceEqual(bytes))
            {
                return sender == Uplink;
            }
        }

        throw new FuzzInvariantException($"guest {guest} on VLAN {GuestVlans[guest]} received a frame no sender of its VLAN may have sent: {Convert.ToHexString(frame)}");
    }

    /// <summary>Checks a frame the switch sent up against what guests sent; true when it was tagged.</summary>
    private static bool CheckSentUp(byte[] frame, List<(int Sender, ushort Vlan, byte[] Frame)> sent)
    {
        foreach (var (sender, vlan, bytes) in sent)
        {
            if (sender != Uplink && frame.AsSpan().SequenceEqual(Tag(bytes, vlan)))
            {
                return vlan != 0;
            }
        }

        throw new FuzzInvariantException($"the switch sent up a frame no guest sent with its own MAC and VLAN: {Convert.ToHexString(frame)}");
    }

    private static bool IsTagged(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) is 0x8100 or 0x88a8;

    /// <summary>The frame as the trunk carries it for <paramref name="vlan"/>: with an 802.1Q tag of priority 0, none for VLAN 0.</summary>
    private static byte[] Tag(byte[] frame, ushort vlan) => vlan == 0 ? frame : [.. frame[..12], 0x81, 0, (byte)(vlan >> 8), unchecked((byte)vlan), .. frame[12..]];

    /// <summary>What a frame from the trunk is on its VLAN: an 802.1Q tag's VLAN and the frame without it, else VLAN 0 and the frame as it is.</summary>
    private static (ushort Vlan, byte[] Frame) Untag(byte[] frame) =>
        frame.Length >= 18 && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == 0x8100
            ? ((ushort)(BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14)) & 0xfff), [.. frame[..12], .. frame[16..]])
            : ((ushort)0, frame);
}

/// <summary>
/// Writes <c>net-switch</c> scripts. A script is a list of steps, each an opcode byte (taken
/// modulo 8): 0-2 guest k sends a packet, 3 the uplink receives a frame, 4-6 guest k takes
/// everything waiting for it, 7 time passes (the next byte, in eighths of the aging time).
/// A frame step is followed by a MAC selector byte (low nibble the destination, high nibble the
/// source: 0 leaves the bytes as they are, n picks <see cref="Macs"/>[n - 1]), a little-endian
/// 16-bit length and that many bytes (fewer at the end of the input). A guest's packet starts
/// with its virtio-net header.
/// </summary>
public sealed class NetSwitchScript
{
    public const int Broadcast = 4;
    public const int Multicast = 5;

    /// <summary>The guests' MACs, broadcast, an IPv4 multicast group and ten stations outside.</summary>
    public static readonly byte[][] Macs =
    [
        [0x52, 0x54, 0, 0, 0, 0x01],
        [0x52, 0x54, 0, 0, 0, 0x02],
        [0x52, 0x54, 0, 0, 0, 0x03],
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        [0x01, 0x00, 0x5e, 0, 0, 0x01],
        .. Enumerable.Range(0, 10).Select(i => new byte[] { 0x02, 0, 0, 0, 0, (byte)(0x10 + i) }),
    ];

    private readonly List<byte> _bytes = [];

    /// <summary>The selector of guest <paramref name="guest"/>'s MAC.</summary>
    public static int Guest(int guest) => 1 + guest;

    /// <summary>The selector of outside station <paramref name="station"/> (0-9).</summary>
    public static int Outside(int station) => 6 + station;

    public NetSwitchScript FromGuest(int guest, ReadOnlySpan<byte> frame, int destination = 0, int source = 0) => Frame(guest, [.. new byte[VirtioNetHdr.Size], .. frame], destination, source);

    public NetSwitchScript FromUplink(ReadOnlySpan<byte> frame, int destination = 0, int source = 0) => Frame(NetSwitchTarget.Guests, frame, destination, source);

    public NetSwitchScript Receive(int guest)
    {
        _bytes.Add((byte)(NetSwitchTarget.Guests + 1 + guest));
        return this;
    }

    public NetSwitchScript Wait(byte eighthsOfAging)
    {
        _bytes.AddRange([7, eighthsOfAging]);
        return this;
    }

    public byte[] ToArray() => [.. _bytes];

    /// <summary>Seed scripts: each reaches a different part of the switch.</summary>
    public static byte[][] Seeds()
    {
        var plain = EthernetFrames.Frame(new byte[6], new byte[6], 60);
        var tagged10 = EthernetFrames.Tagged(plain, 10);
        var tagged20 = EthernetFrames.Tagged(plain, 20);
        var doubleTagged = EthernetFrames.Tagged(tagged10, 10);
        var serviceTagged = (byte[])tagged10.Clone();
        serviceTagged[12] = 0x88;
        serviceTagged[13] = 0xa8;
        var learning = new NetSwitchScript();
        for (var i = 0; i < 10; i++)
        {
            learning.FromUplink(i % 2 == 0 ? tagged10 : plain, Broadcast, Outside(i));
            if (i == 5)
            {
                learning.Wait(9);
            }
        }

        return
        [
            new NetSwitchScript().FromGuest(0, plain, Guest(1), Guest(0)).Receive(1).FromGuest(1, plain, Broadcast, Guest(1)).Receive(0).Receive(2).ToArray(),
            new NetSwitchScript().FromUplink(tagged10, Guest(0), Outside(0)).Receive(0).FromGuest(0, plain, Outside(0), Guest(0))
                .FromUplink(plain, Guest(2), Outside(1)).Receive(2).FromGuest(2, plain, Outside(2), Guest(2)).Receive(1).ToArray(),
            learning.FromGuest(1, plain, Outside(9), Guest(1)).Receive(0).Receive(1).Receive(2).ToArray(),
            new NetSwitchScript().FromUplink(doubleTagged, Broadcast, Outside(0)).FromUplink(serviceTagged, Broadcast, Outside(0))
                .FromUplink(EthernetFrames.Tagged(plain, 4095), Broadcast, Outside(0)).FromUplink(tagged10, Guest(0), Multicast)
                .FromUplink(plain, Guest(2), Guest(1)).FromUplink(new byte[5]).FromUplink(new byte[13])
                .FromGuest(0, plain, Guest(1), Guest(2)).FromGuest(2, tagged10, Broadcast, Guest(2)).FromGuest(1, new byte[13])
                .Receive(0).Receive(1).Receive(2).ToArray(),
            new NetSwitchScript().FromUplink(tagged20, Broadcast, Outside(3)).FromUplink(tagged10, Guest(2), Outside(4))
                .FromUplink(EthernetFrames.Tagged(plain, 0), Multicast, Outside(5)).Receive(0).Receive(1).Receive(2).ToArray(),
        ];
    }

    /// <summary>Reads a frame step's selector, length and bytes from <paramref name="rest"/> and returns the bytes (at most <paramref name="limit"/>) with the MACs, which start at <paramref name="macsAt"/>, replaced as selected.</summary>
    internal static byte[] TakeFrame(ref ReadOnlySpan<byte> rest, int macsAt, int limit)
    {
        if (rest.Length < 3)
        {
            rest = [];
            return [];
        }

        var selector = rest[0];
        var length = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(rest[1..]), rest.Length - 3);
        var bytes = rest.Slice(3, length).ToArray();
        rest = rest[(3 + length)..];
        Select(bytes.AsSpan(Math.Min(macsAt, bytes.Length)), 0, selector & 0xf);
        Select(bytes.AsSpan(Math.Min(macsAt, bytes.Length)), 6, selector >> 4);
        return bytes.Length > limit ? bytes[..limit] : bytes;
    }

    private static void Select(Span<byte> frame, int at, int selector)
    {
        if (selector != 0 && selector <= Macs.Length && frame.Length >= at + 6)
        {
            Macs[selector - 1].CopyTo(frame[at..]);
        }
    }

    private NetSwitchScript Frame(int op, ReadOnlySpan<byte> bytes, int destination, int source)
    {
        _bytes.AddRange([(byte)op, (byte)(destination | (source << 4)), unchecked((byte)bytes.Length), (byte)(bytes.Length >> 8)]);
        _bytes.AddRange(bytes);
        return this;
    }
}
