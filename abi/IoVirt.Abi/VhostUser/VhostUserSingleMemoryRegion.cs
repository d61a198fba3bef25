using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Payload of ADD_MEM_REG and REM_MEM_REG (vhost-user.rst, "Single memory region description"):
/// 64 bits of padding, then one <see cref="VhostUserMemoryRegion"/>, native byte order.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserSingleMemoryRegion
{
    public const int Size = 40;
    public const int RegionOffset = 8;

    private readonly ulong _padding;
    private VhostUserMemoryRegion _region;

    public VhostUserMemoryRegion Region { readonly get => _region; set => _region = value; }
}
