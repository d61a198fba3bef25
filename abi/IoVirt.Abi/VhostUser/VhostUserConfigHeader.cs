using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>Head of GET_CONFIG/SET_CONFIG: offset into the device config space, access size, flags; the bytes follow.</summary>
[StructLayout(LayoutKind.Sequential, Size = HeaderSize)]
public struct VhostUserConfigHeader
{
    public const int HeaderSize = 12;

    /// <summary>Largest config access (VHOST_USER_MAX_CONFIG_SIZE in QEMU).</summary>
    public const int MaxConfigSize = 256;

    /// <summary>Flags value: a write of a writable field by the driver.</summary>
    public const uint Writable = 0;

    /// <summary>Flags value: a write during live migration (may set read-only fields).</summary>
    public const uint Migration = 1;

    public uint Offset;
    public uint Size;
    public uint Flags;
}
