using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Blk;

/// <summary>Flags of a discard, write-zeroes or secure-erase segment, virtio 1.2 §5.2.6.</summary>
[Flags]
public enum VirtioBlkDiscardWriteZeroesFlags : uint
{
    None = 0,
    /// <summary>Write zeroes only: the device may deallocate the range instead of writing it.</summary>
    Unmap = 1,
}

/// <summary>
/// One range in the data of a DISCARD, WRITE_ZEROES or SECURE_ERASE request (struct
/// virtio_blk_discard_write_zeroes, virtio 1.2 §5.2.6): sector (le64), num_sectors (le32), flags (le32).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioBlkDiscardWriteZeroes
{
    public const int Size = 16;
    public const int SectorOffset = 0;
    public const int NumSectorsOffset = 8;
    public const int FlagsOffset = 12;

    private ulong _sector;
    private uint _numSectors;
    private uint _flags;

    /// <summary>First sector of the range (le64).</summary>
    public ulong Sector { readonly get => LittleEndian.ToHost(_sector); set => _sector = LittleEndian.FromHost(value); }

    /// <summary>Number of 512-byte sectors in the range (le32).</summary>
    public uint NumSectors { readonly get => LittleEndian.ToHost(_numSectors); set => _numSectors = LittleEndian.FromHost(value); }

    /// <summary>Range flags; bits other than UNMAP are reserved (le32).</summary>
    public VirtioBlkDiscardWriteZeroesFlags Flags { readonly get => (VirtioBlkDiscardWriteZeroesFlags)LittleEndian.ToHost(_flags); set => _flags = LittleEndian.FromHost((uint)value); }
}
