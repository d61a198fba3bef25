using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Blk;

/// <summary>
/// Header that starts every block request (the device-readable part before the data), virtio 1.2
/// §5.2.6: type (le32), reserved (le32, ioprio in legacy Linux headers), sector (le64).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioBlkReqHeader
{
    public const int Size = 16;
    public const int TypeOffset = 0;
    public const int ReservedOffset = 4;
    public const int SectorOffset = 8;

    private uint _type;
    private uint _reserved;
    private ulong _sector;

    /// <summary>Request type (le32).</summary>
    public VirtioBlkRequestType Type { readonly get => (VirtioBlkRequestType)LittleEndian.ToHost(_type); set => _type = LittleEndian.FromHost((uint)value); }

    /// <summary>Reserved; the driver sets it to zero (le32).</summary>
    public uint Reserved { readonly get => LittleEndian.ToHost(_reserved); set => _reserved = LittleEndian.FromHost(value); }

    /// <summary>Offset of the transfer in 512-byte sectors; meaningful for IN, OUT and zone commands (le64).</summary>
    public ulong Sector { readonly get => LittleEndian.ToHost(_sector); set => _sector = LittleEndian.FromHost(value); }
}
