using System.Buffers.Binary;
using IoVirt.Abi.Net;

namespace IoVirt.Backends.Net;

/// <summary>
/// What a NIC sends once its guest has been live-migrated, so that switches move the guest's MAC
/// to its new port: a broadcast RARP request whose sender and target are that MAC (the frame QEMU
/// and DPDK send for the same purpose), padded to Ethernet's 60-byte minimum, after a virtio-net
/// header that asks for nothing.
/// </summary>
public static class MigrationAnnouncement
{
    /// <summary>The Ethernet frame, without its FCS.</summary>
    public const int FrameLength = 60;

    /// <summary>The packet as a port takes it: the header, then the frame.</summary>
    public const int PacketLength = VirtioNetHdr.Size + FrameLength;

    private const ushort EtherTypeRarp = 0x8035;
    private const ushort HardwareEthernet = 1;
    private const ushort ProtocolIpv4 = 0x0800;
    private const ushort OperationReverseRequest = 3;

    /// <summary>Writes the packet for <paramref name="mac"/> into the first <see cref="PacketLength"/> bytes of <paramref name="packet"/>.</summary>
    public static void Write(Span<byte> packet, MacAddress mac)
    {
        packet = packet[..PacketLength];
        packet.Clear();
        var frame = packet[VirtioNetHdr.Size..];
        MacAddress.Broadcast.WriteTo(frame);
        mac.WriteTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], EtherTypeRarp);

        var rarp = frame[14..];
        BinaryPrimitives.WriteUInt16BigEndian(rarp, HardwareEthernet);
        BinaryPrimitives.WriteUInt16BigEndian(rarp[2..], ProtocolIpv4);
        rarp[4] = MacAddress.Length;
        rarp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(rarp[6..], OperationReverseRequest);
        mac.WriteTo(rarp[8..]); // sender hardware address; sender IPv4 address 0 follows
        mac.WriteTo(rarp[18..]); // target hardware address; target IPv4 address 0 follows
    }
}
