using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Values of the flags field of <see cref="VhostUserConfigHeader"/> (vhost-user.rst, "Virtio device
/// config space"). The spec lists them as values, not bit positions.
/// </summary>
public enum VhostUserConfigFlags : uint
{
    /// <summary>A normal write of writable fields.</summary>
    Writable = 0,
    /// <summary>A write during live migration, which may also set read-only fields.</summary>
    LiveMigration = 1,
}

/// <summary>
/// Head of the GET_CONFIG and SET_CONFIG payload (vhost-user.rst, "Virtio device config space"):
/// offset into the device config space, access size and flags, u32 each, native byte order,
/// followed by size bytes of config data (which keeps the device's own, little-endian, layout).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserConfigHeader
{
    public const int Size = 12;
    public const int OffsetOffset = 0;
    public const int ConfigSizeOffset = 4;
    public const int FlagsOffset = 8;
    public const int DataOffset = 12;

    /// <summary>Most config bytes one message carries (VHOST_USER_MAX_CONFIG_SIZE).</summary>
    public const int MaxConfigSize = 256;

    private uint _offset;
    private uint _configSize;
    private uint _flags;

    /// <summary>Offset of the access within the device config space (u32, native order).</summary>
    public uint Offset { readonly get => _offset; set => _offset = value; }

    /// <summary>Bytes of config data that follow (u32, native order).</summary>
    public uint ConfigSize { readonly get => _configSize; set => _configSize = value; }

    public VhostUserConfigFlags Flags { readonly get => (VhostUserConfigFlags)_flags; set => _flags = (uint)value; }
}
