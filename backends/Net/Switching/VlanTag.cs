using System.Buffers.Binary;
using IoVirt.Abi.Net;

namespace IoVirt.Backends.Net.Switching;

/// <summary>
/// 802.1Q tags on packets (virtio-net header, then the frame): guests send and receive untagged
/// frames; the uplink is a trunk that carries each VLAN but 0 tagged.
/// </summary>
internal static class VlanTag
{
    public const int Size = 4;

    private const ushort Dot1Q = 0x8100;
    private const ushort Dot1Ad = 0x88a8;

    /// <summary>Where the tag goes in a packet: after the header and the two MACs.</summary>
    private const int Offset = VirtioNetHdr.Size + 12;

    public static bool IsTagged(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) is Dot1Q or Dot1Ad;

    /// <summary>Writes <paramref name="packet"/> to <paramref name="destination"/> with a tag of <paramref name="vlan"/> (none for 0); returns the length written.</summary>
    public static int Insert(ReadOnlySpan<byte> packet, ushort vlan, Span<byte> destination)
    {
        if (vlan == 0)
        {
            packet.CopyTo(destination);
            return packet.Length;
        }

        packet[..Offset].CopyTo(destination);
        BinaryPrimitives.WriteUInt16BigEndian(destination[Offset..], Dot1Q);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(Offset + 2)..], vlan); // priority 0
        packet[Offset..].CopyTo(destination[(Offset + Size)..]);
        return packet.Length + Size;
    }

    /// <summary>
    /// Takes the tag off a packet from the trunk, in place: <paramref name="packet"/> becomes the
    /// untagged packet and <paramref name="vlan"/> its VLAN (0 for an untagged or priority-tagged
    /// frame). False for what no port may receive: a frame too short to hold its headers, VLAN
    /// 4095, a service (802.1ad) tag, or a second tag inside the first.
    /// </summary>
    public static bool TryStrip(ref Span<byte> packet, out ushort vlan)
    {
        vlan = 0;
        if (packet.Length < Offset + 2)
        {
            return false;
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(packet[Offset..]);
        if (type == Dot1Ad)
        {
            return false;
        }

        if (type != Dot1Q)
        {
            return true;
        }

        if (packet.Length < Offset + Size + 2)
        {
            return false;
        }

        vlan = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(packet[(Offset + 2)..]) & 0x0fff);
        // Slide header and MACs over the tag (CopyTo handles the overlap).
        packet[..Offset].CopyTo(packet[Size..]);
        packet = packet[Size..];
        return vlan != 4095 && !IsTagged(packet[VirtioNetHdr.Size..]);
    }
}
