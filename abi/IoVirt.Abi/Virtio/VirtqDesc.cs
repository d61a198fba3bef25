using System.Runtime.InteropServices;

namespace IoVirt.Abi.Virtio;

/// <summary>Split-ring descriptor flags, virtio 1.2 §2.7.5.</summary>
[Flags]
public enum VirtqDescFlags : ushort
{
    None = 0,
    Next = 1,
    Write = 2,
    Indirect = 4,
}

/// <summary>
/// Split-ring descriptor (struct virtq_desc, virtio 1.2 §2.7.5): 16 bytes, every field
/// little-endian in guest memory; the accessors convert to and from host order.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtqDesc
{
    public const int Size = 16;

    private ulong _addr;
    private uint _len;
    private ushort _flags;
    private ushort _next;

    /// <summary>Guest-physical buffer address (le64).</summary>
    public ulong Addr { readonly get => LittleEndian.ToHost(_addr); set => _addr = LittleEndian.FromHost(value); }

    /// <summary>Buffer length in bytes (le32).</summary>
    public uint Len { readonly get => LittleEndian.ToHost(_len); set => _len = LittleEndian.FromHost(value); }

    /// <summary>Descriptor flags (le16).</summary>
    public VirtqDescFlags Flags { readonly get => (VirtqDescFlags)LittleEndian.ToHost(_flags); set => _flags = LittleEndian.FromHost((ushort)value); }

    /// <summary>Index of the next descriptor when <see cref="VirtqDescFlags.Next"/> is set (le16).</summary>
    public ushort Next { readonly get => LittleEndian.ToHost(_next); set => _next = LittleEndian.FromHost(value); }
}
