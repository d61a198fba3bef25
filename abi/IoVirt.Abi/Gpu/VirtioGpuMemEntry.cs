using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// One piece of a resource's backing in guest memory, virtio 1.2 §5.7.6.8: addr (le64), length
/// (le32), padding.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuMemEntry
{
    public const int Size = 16;
    public const int AddrOffset = 0;
    public const int LengthOffset = 8;

    private ulong _addr;
    private uint _length;
    private readonly uint _padding;

    /// <summary>Guest physical address (le64).</summary>
    public ulong Addr { readonly get => LittleEndian.ToHost(_addr); set => _addr = LittleEndian.FromHost(value); }

    /// <summary>Bytes (le32).</summary>
    public uint Length { readonly get => LittleEndian.ToHost(_length); set => _length = LittleEndian.FromHost(value); }
}
