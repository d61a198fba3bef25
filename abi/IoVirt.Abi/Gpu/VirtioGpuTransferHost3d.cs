using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// TRANSFER_TO_HOST_3D and TRANSFER_FROM_HOST_3D, virtio 1.2 §5.7.6.8: header, the box, the byte
/// offset in the backing (le64), resource_id, level, stride, layer_stride.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuTransferHost3d
{
    public const int Size = 72;
    public const int BoxOffset = 24;
    public const int OffsetOffset = 48;
    public const int ResourceIdOffset = 56;
    public const int LevelOffset = 60;
    public const int StrideOffset = 64;
    public const int LayerStrideOffset = 68;

    private VirtioGpuCtrlHeader _header;
    private VirtioGpuBox _box;
    private ulong _offset;
    private uint _resourceId;
    private uint _level;
    private uint _stride;
    private uint _layerStride;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>The part of the resource to copy.</summary>
    public VirtioGpuBox Box { readonly get => _box; set => _box = value; }

    /// <summary>Byte offset in the backing where the box's first byte is (le64).</summary>
    public ulong Offset { readonly get => LittleEndian.ToHost(_offset); set => _offset = LittleEndian.FromHost(value); }

    /// <summary>The resource (le32).</summary>
    public uint ResourceId { readonly get => LittleEndian.ToHost(_resourceId); set => _resourceId = LittleEndian.FromHost(value); }

    /// <summary>The mip level (le32).</summary>
    public uint Level { readonly get => LittleEndian.ToHost(_level); set => _level = LittleEndian.FromHost(value); }

    /// <summary>Bytes from one row to the next in the backing; zero: packed (le32).</summary>
    public uint Stride { readonly get => LittleEndian.ToHost(_stride); set => _stride = LittleEndian.FromHost(value); }

    /// <summary>Bytes from one layer or slice to the next; zero: packed (le32).</summary>
    public uint LayerStride { readonly get => LittleEndian.ToHost(_layerStride); set => _layerStride = LittleEndian.FromHost(value); }
}
