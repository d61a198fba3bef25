using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Shared-object payload (vhost-user.rst, "VhostUserShared"): a 16-byte UUID whose first three
/// components (u32, u16, u16) are stored big-endian, the RFC 4122 byte order.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserShared
{
    public const int Size = 16;
    public const int UuidOffset = 0;

    private FixedBytes16 _uuid;

    /// <summary>The object's UUID, converted from and to the big-endian wire order.</summary>
    public Guid Uuid
    {
        readonly get => new(_uuid, bigEndian: true);
        set => value.TryWriteBytes(_uuid, bigEndian: true, out _);
    }
}
