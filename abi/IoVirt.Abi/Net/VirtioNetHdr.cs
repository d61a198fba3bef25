using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Net;

/// <summary>Flags of the network packet header, virtio 1.2 §5.1.6.</summary>
[Flags]
public enum VirtioNetHdrFlags : byte
{
    None = 0,
    /// <summary>The checksum at csum_start + csum_offset is still to be computed.</summary>
    NeedsCsum = 1,
    /// <summary>Receive: the checksum has been validated.</summary>
    DataValid = 2,
    /// <summary>Receive with RSC_EXT: the csum fields carry coalescing counts instead.</summary>
    RscInfo = 4,
}

/// <summary>
/// Segmentation type of the network packet header, virtio 1.2 §5.1.6: one of the types, optionally
/// ORed with <see cref="Ecn"/>.
/// </summary>
public enum VirtioNetGsoType : byte
{
    /// <summary>Not a segmentation offload packet.</summary>
    None = 0,
    TcpV4 = 1,
    /// <summary>UDP fragmentation offload (UFO).</summary>
    Udp = 3,
    TcpV6 = 4,
    /// <summary>UDP segmentation offload (USO), IPv4 or IPv6.</summary>
    UdpL4 = 5,
    /// <summary>Bit added to a TCP type when the packet has ECN set.</summary>
    Ecn = 0x80,
}

/// <summary>
/// Header that precedes every packet on the receive and transmit queues (struct virtio_net_hdr,
/// virtio 1.2 §5.1.6): flags u8, gso_type u8, then hdr_len, gso_size, csum_start, csum_offset and
/// num_buffers, le16 each. With VERSION_1 or MRG_RXBUF the header is all 12 bytes; a legacy device
/// without MRG_RXBUF uses the first <see cref="LegacySize"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioNetHdr
{
    public const int Size = 12;
    public const int LegacySize = 10;
    public const int FlagsOffset = 0;
    public const int GsoTypeOffset = 1;
    public const int HdrLenOffset = 2;
    public const int GsoSizeOffset = 4;
    public const int CsumStartOffset = 6;
    public const int CsumOffsetOffset = 8;
    public const int NumBuffersOffset = 10;

    private byte _flags;
    private byte _gsoType;
    private ushort _hdrLen;
    private ushort _gsoSize;
    private ushort _csumStart;
    private ushort _csumOffset;
    private ushort _numBuffers;

    public VirtioNetHdrFlags Flags { readonly get => (VirtioNetHdrFlags)_flags; set => _flags = (byte)value; }

    public VirtioNetGsoType GsoType { readonly get => (VirtioNetGsoType)_gsoType; set => _gsoType = (byte)value; }

    /// <summary>Length of the headers to copy into each segment (le16).</summary>
    public ushort HdrLen { readonly get => LittleEndian.ToHost(_hdrLen); set => _hdrLen = LittleEndian.FromHost(value); }

    /// <summary>Payload bytes per segment (le16).</summary>
    public ushort GsoSize { readonly get => LittleEndian.ToHost(_gsoSize); set => _gsoSize = LittleEndian.FromHost(value); }

    /// <summary>Where checksumming starts; with RSC_INFO the number of coalesced segments (le16).</summary>
    public ushort CsumStart { readonly get => LittleEndian.ToHost(_csumStart); set => _csumStart = LittleEndian.FromHost(value); }

    /// <summary>Where after csum_start the checksum goes; with RSC_INFO the number of duplicated ACKs (le16).</summary>
    public ushort CsumOffset { readonly get => LittleEndian.ToHost(_csumOffset); set => _csumOffset = LittleEndian.FromHost(value); }

    /// <summary>Receive: descriptors the packet was merged across (le16).</summary>
    public ushort NumBuffers { readonly get => LittleEndian.ToHost(_numBuffers); set => _numBuffers = LittleEndian.FromHost(value); }
}
