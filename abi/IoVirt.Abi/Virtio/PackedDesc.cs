using System.Runtime.InteropServices;

namespace IoVirt.Abi.Virtio;

/// <summary>Packed-ring descriptor flags, virtio 1.2 §2.8.</summary>
[Flags]
public enum PackedDescFlags : ushort
{
    None = 0,
    Next = 1,
    Write = 2,
    Indirect = 4,
    /// <summary>Bit 7: equals the driver's wrap counter when the driver makes a descriptor available.</summary>
    Avail = 1 << 7,
    /// <summary>Bit 15: equals the device's wrap counter when the device marks a descriptor used.</summary>
    Used = 1 << 15,
}

/// <summary>
/// Packed-ring descriptor (struct pvirtq_desc, virtio 1.2 §2.8.13): 16 bytes, every field
/// little-endian in guest memory; the accessors convert to and from host order.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct PackedDesc
{
    public const int Size = 16;
    public const int IdOffset = 12;
    public const int FlagsOffset = 14;

    private ulong _addr;
    private uint _len;
    private ushort _id;
    private ushort _flags;

    /// <summary>Guest-physical buffer address (le64).</summary>
    public ulong Addr { readonly get => LittleEndian.ToHost(_addr); set => _addr = LittleEndian.FromHost(value); }

    /// <summary>Buffer length, or bytes written when used (le32).</summary>
    public uint Len { readonly get => LittleEndian.ToHost(_len); set => _len = LittleEndian.FromHost(value); }

    /// <summary>Buffer id, meaningful in the last descriptor of a chain (le16).</summary>
    public ushort Id { readonly get => LittleEndian.ToHost(_id); set => _id = LittleEndian.FromHost(value); }

    /// <summary>Descriptor flags (le16).</summary>
    public PackedDescFlags Flags { readonly get => (PackedDescFlags)LittleEndian.ToHost(_flags); set => _flags = LittleEndian.FromHost((ushort)value); }
}

/// <summary>Size and alignment rules of the packed virtqueue parts, virtio 1.2 §2.8.</summary>
public static class PackedRingLayout
{
    public const int MaxQueueSize = 32768;
    public const int DescriptorRingAlignment = 16;
    public const int EventSuppressionAlignment = 4;

    public static ulong DescriptorRingSize(int queueSize) => (ulong)(PackedDesc.Size * queueSize);
}
