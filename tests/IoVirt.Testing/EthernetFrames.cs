using System.Buffers.Binary;
using IoVirt.Abi.Net;
using IoVirt.Backends.Net;

namespace IoVirt.Testing;

/// <summary>Frames and virtio-net headers for network tests.</summary>
public static class EthernetFrames
{
    public static readonly byte[] DeviceMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    public static readonly byte[] PeerMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x99];

    /// <summary>An Ethernet frame from <paramref name="source"/> to <paramref name="destination"/> with a counting payload.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> destination, ReadOnlySpan<byte> source, int length, ushort type = 0x88b5, byte seed = 1)
    {
        var frame = new byte[length];
        destination.CopyTo(frame);
        source.CopyTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), type);
        for (var i = 14; i < length; i++)
        {
            frame[i] = unchecked((byte)(seed + i));
        }

        return frame;
    }

    /// <summary>The address's six bytes, as a frame carries them.</summary>
    public static byte[] Bytes(MacAddress mac)
    {
        var bytes = new byte[MacAddress.Length];
        mac.WriteTo(bytes);
        return bytes;
    }

    /// <summary>The same frame with an 802.1Q tag of <paramref name="vlan"/> after the MACs.</summary>
    public static byte[] Tagged(byte[] frame, ushort vlan)
    {
        var tagged = new byte[frame.Length + 4];
        frame.AsSpan(0, 12).CopyTo(tagged);
        BinaryPrimitives.WriteUInt16BigEndian(tagged.AsSpan(12), 0x8100);
        BinaryPrimitives.WriteUInt16BigEndian(tagged.AsSpan(14), vlan);
        frame.AsSpan(12).CopyTo(tagged.AsSpan(16));
        return tagged;
    }

    /// <summary>
    /// A UDP/IPv4 frame with its UDP checksum left partial, as a driver with checksum offload
    /// sends it: the field holds the pseudo-header sum; csum_start 34, csum_offset 6.
    /// </summary>
    public static byte[] UdpWithPartialChecksum(ReadOnlySpan<byte> destination, ReadOnlySpan<byte> source, int payload)
    {
        var frame = Frame(destination, source, 14 + 20 + 8 + payload, 0x0800);
        var ip = frame.AsSpan(14, 20);
        ip[..12].Clear();
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload));
        ip[8] = 64;
        ip[9] = 17;
        ReadOnlySpan<byte> addresses = [10, 0, 0, 2, 10, 0, 0, 1];
        addresses.CopyTo(ip[12..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], unchecked((ushort)~InternetChecksum.Sum(ip)));
        var udp = frame.AsSpan(34, 8);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 5000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 6000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload));
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], PseudoHeaderSum(frame));
        return frame;
    }

    /// <summary>Whether a UDP/IPv4 frame's UDP checksum is right (the sum over pseudo-header and datagram folds to 0xffff).</summary>
    public static bool UdpChecksumValid(ReadOnlySpan<byte> frame)
    {
        var udpLength = BinaryPrimitives.ReadUInt16BigEndian(frame[38..]);
        var sum = (uint)PseudoHeaderSum(frame) + InternetChecksum.Sum(frame.Slice(34, udpLength));
        sum = (sum & 0xffff) + (sum >> 16);
        return sum == 0xffff;
    }

    /// <summary>A virtio-net header (12 bytes) with the given fields.</summary>
    public static byte[] Header(VirtioNetHdrFlags flags = 0, VirtioNetGsoType gso = 0, ushort gsoSize = 0, ushort csumStart = 0, ushort csumOffset = 0)
    {
        var header = new byte[VirtioNetHdr.Size];
        header[VirtioNetHdr.FlagsOffset] = (byte)flags;
        header[VirtioNetHdr.GsoTypeOffset] = (byte)gso;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(VirtioNetHdr.GsoSizeOffset), gsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(VirtioNetHdr.CsumStartOffset), csumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(VirtioNetHdr.CsumOffsetOffset), csumOffset);
        return header;
    }

    private static ushort PseudoHeaderSum(ReadOnlySpan<byte> frame)
    {
        Span<byte> pseudo = stackalloc byte[12];
        frame.Slice(26, 8).CopyTo(pseudo);
        pseudo[8] = 0;
        pseudo[9] = 17;
        frame.Slice(38, 2).CopyTo(pseudo[10..]);
        return InternetChecksum.Sum(pseudo);
    }
}
