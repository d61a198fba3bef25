using System.Buffers.Binary;
using IoVirt.Abi.Net;

namespace IoVirt.Backends.Net.Ports;

/// <summary>
/// Sends the guest frames as fast as it gives receive buffers (a packet generator, for
/// benchmarks): UDP/IPv4 broadcasts of a fixed size with valid checksums, numbered in the
/// payload per queue pair. Discards what the guest sends.
/// </summary>
public sealed class SourcePort : INetPort
{
    /// <summary>Smallest frame: Ethernet, IPv4 and UDP headers and a 4-byte sequence number, padded to 60 as on a wire without FCS.</summary>
    public const int MinFrame = 60;

    private const int SequenceOffset = VirtioNetHdr.Size + 14 + 20 + 8;

    private readonly byte[][] _templates;
    private readonly uint[] _sequence;

    public SourcePort(int pairs, int frameSize, MacAddress sourceMac)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pairs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(frameSize, MinFrame);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frameSize, 1514);
        FrameSize = frameSize;
        _templates = new byte[pairs][];
        _sequence = new uint[pairs];
        for (var i = 0; i < pairs; i++)
        {
            _templates[i] = Template(frameSize, sourceMac, (byte)i);
        }
    }

    public int FrameSize { get; }

    public string Description => $"source of {FrameSize}-byte frames, {_templates.Length} queue pair(s)";

    public NetOffloads TransmitOffloads => NetOffloads.Csum | NetOffloads.Tso4 | NetOffloads.Tso6 | NetOffloads.Ecn;

    public NetOffloads ReceiveOffloads => NetOffloads.None;

    public void AcceptOffloads(NetOffloads offloads)
    {
    }

    public bool Transmit(int pair, ReadOnlySpan<byte> packet) => true;

    public void TransmitBurstDone(int pair)
    {
    }

    public int Receive(int pair, Span<byte> destination)
    {
        var template = _templates[pair];
        template.CopyTo(destination);
        // The UDP checksum is 0 (none), so the running number needs no checksum update.
        BinaryPrimitives.WriteUInt32BigEndian(destination[SequenceOffset..], _sequence[pair]++);
        return template.Length;
    }

    public int ReceiveEventSource(int pair) => -1;

    /// <summary>Nothing is held for the guest here.</summary>
    public void Reset()
    {
    }

    public void Dispose()
    {
    }

    private static byte[] Template(int frameSize, MacAddress sourceMac, byte pair)
    {
        var packet = new byte[VirtioNetHdr.Size + frameSize];
        var frame = packet.AsSpan(VirtioNetHdr.Size);
        frame[..6].Fill(0xff);
        sourceMac.WriteTo(frame[6..]);
        frame[11] ^= pair; // one source per pair
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0800);
        var ip = frame.Slice(14, 20);
        var ipLength = frameSize - 14;
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)ipLength);
        ip[8] = 64; // TTL
        ip[9] = 17; // UDP
        ip[12..16].Fill(0);
        ip[16..20].Fill(0xff);
        ip[12] = 10;
        ip[15] = (byte)(pair + 1);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], unchecked((ushort)~InternetChecksum.Sum(ip)));
        var udp = frame.Slice(34, 8);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 9);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 9);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(ipLength - 20));
        return packet;
    }
}
