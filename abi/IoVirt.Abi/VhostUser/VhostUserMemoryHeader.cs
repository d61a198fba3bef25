using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Head of the SET_MEM_TABLE payload (vhost-user.rst, "Multiple Memory regions description"; struct
/// vhost_memory): region count and padding, u32 each, native byte order, followed by that many
/// <see cref="VhostUserMemoryRegion"/>s and matched by as many fds.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserMemoryHeader
{
    public const int Size = 8;
    public const int NRegionsOffset = 0;
    public const int RegionsOffset = 8;

    /// <summary>Most regions one SET_MEM_TABLE carries (region0 to region7).</summary>
    public const int MaxRegions = 8;

    private uint _nRegions;
    private readonly uint _padding;

    /// <summary>Number of regions that follow (u32, native order).</summary>
    public uint NRegions { readonly get => _nRegions; set => _nRegions = value; }
}
