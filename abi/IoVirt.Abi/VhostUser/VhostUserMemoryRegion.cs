using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>One region of the memory table: guest-physical address, size, front-end address, offset in the region's file.</summary>
[StructLayout(LayoutKind.Sequential, Size = RegionSize)]
public struct VhostUserMemoryRegion
{
    public const int RegionSize = 32;

    public ulong GuestAddress;
    public ulong Size;
    public ulong UserAddress;
    public ulong MmapOffset;
}

/// <summary>Head of SET_MEM_TABLE's payload: the region count and padding, then that many regions.</summary>
[StructLayout(LayoutKind.Sequential, Size = HeaderSize)]
public struct VhostUserMemoryHeader
{
    public const int HeaderSize = 8;

    /// <summary>Most regions SET_MEM_TABLE carries (one descriptor each).</summary>
    public const int MaxRegions = 8;

    public uint RegionCount;
    public uint Padding;
}

/// <summary>Payload of ADD_MEM_REG and REM_MEM_REG: 64 bits of padding, then one region.</summary>
[StructLayout(LayoutKind.Sequential, Size = RegionSize)]
public struct VhostUserSingleMemoryRegion
{
    public const int RegionSize = 40;

    public ulong Padding;
    public VhostUserMemoryRegion Region;
}
