using System.Buffers.Binary;
using IoVirt.Abi.Net;

namespace IoVirt.Backends.Net;

/// <summary>
/// Checks a packet the guest transmits (a 12-byte virtio-net header, then the frame) against
/// what was negotiated, before anything acts on it: every header field is guest-chosen.
/// </summary>
public readonly record struct NetTransmitCheck(NetOffloads Offloads, int MaxFrame)
{
    /// <summary>Ethernet header: two MACs and the type.</summary>
    public const int EthernetHeader = 14;

    /// <summary>Largest frame with segmentation offload: a 64 KiB IP packet behind a tagged Ethernet header.</summary>
    public const int MaxSegmentedFrame = 65536 + 18;

    /// <summary>Largest frame without segmentation for an <paramref name="mtu"/>: Ethernet header, one VLAN tag, the payload.</summary>
    public static int FrameFor(int mtu) => mtu + 18;

    public NetTxVerdict Check(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < VirtioNetHdr.Size + EthernetHeader)
        {
            return NetTxVerdict.TooShort;
        }

        var frameLength = packet.Length - VirtioNetHdr.Size;
        var flags = (VirtioNetHdrFlags)packet[VirtioNetHdr.FlagsOffset];
        var gso = (VirtioNetGsoType)packet[VirtioNetHdr.GsoTypeOffset];
        if ((flags & ~VirtioNetHdrFlags.NeedsCsum) != 0)
        {
            return NetTxVerdict.BadFlags;
        }

        if (frameLength > (gso == VirtioNetGsoType.None ? MaxFrame : MaxSegmentedFrame))
        {
            return NetTxVerdict.TooLong;
        }

        if ((flags & VirtioNetHdrFlags.NeedsCsum) != 0)
        {
            if ((Offloads & NetOffloads.Csum) == 0)
            {
                return NetTxVerdict.ChecksumNotNegotiated;
            }

            var start = BinaryPrimitives.ReadUInt16LittleEndian(packet[VirtioNetHdr.CsumStartOffset..]);
            var offset = BinaryPrimitives.ReadUInt16LittleEndian(packet[VirtioNetHdr.CsumOffsetOffset..]);
            if (start + offset + 2 > frameLength)
            {
                return NetTxVerdict.ChecksumOutsideFrame;
            }
        }

        return gso == VirtioNetGsoType.None ? NetTxVerdict.Valid : CheckGso(gso, flags, packet);
    }

    private NetTxVerdict CheckGso(VirtioNetGsoType gso, VirtioNetHdrFlags flags, ReadOnlySpan<byte> packet)
    {
        var needed = (gso & ~VirtioNetGsoType.Ecn) switch
        {
            VirtioNetGsoType.TcpV4 => NetOffloads.Tso4,
            VirtioNetGsoType.TcpV6 => NetOffloads.Tso6,
            _ => (NetOffloads)(-1),
        };
        if ((gso & VirtioNetGsoType.Ecn) != 0)
        {
            needed |= NetOffloads.Ecn;
        }

        if ((Offloads & needed) != needed)
        {
            return NetTxVerdict.GsoNotNegotiated;
        }

        return (flags & VirtioNetHdrFlags.NeedsCsum) == 0 || BinaryPrimitives.ReadUInt16LittleEndian(packet[VirtioNetHdr.GsoSizeOffset..]) == 0
            ? NetTxVerdict.BadGso
            : NetTxVerdict.Valid;
    }
}
