using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// One guest memory region (vhost-user.rst, "Memory region description"): guest address, size, user
/// address in the front-end and offset into the region's fd, u64 each, native byte order. With
/// XEN_MMAP negotiated each region has eight more bytes, which this layout does not cover.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserMemoryRegion
{
    public const int Size = 32;
    public const int GuestPhysAddrOffset = 0;
    public const int MemorySizeOffset = 8;
    public const int UserspaceAddrOffset = 16;
    public const int MmapOffsetOffset = 24;

    private ulong _guestPhysAddr;
    private ulong _memorySize;
    private ulong _userspaceAddr;
    private ulong _mmapOffset;

    /// <summary>Guest-physical start of the region (u64, native order).</summary>
    public ulong GuestPhysAddr { readonly get => _guestPhysAddr; set => _guestPhysAddr = value; }

    /// <summary>Region length in bytes (u64, native order).</summary>
    public ulong MemorySize { readonly get => _memorySize; set => _memorySize = value; }

    /// <summary>Where the front-end maps the region in its own address space (u64, native order).</summary>
    public ulong UserspaceAddr { readonly get => _userspaceAddr; set => _userspaceAddr = value; }

    /// <summary>Offset of the region's first byte in its fd (u64, native order).</summary>
    public ulong MmapOffset { readonly get => _mmapOffset; set => _mmapOffset = value; }
}
