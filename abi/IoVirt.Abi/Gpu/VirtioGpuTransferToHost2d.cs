using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// TRANSFER_TO_HOST_2D, virtio 1.2 §5.7.6.8: header, the rectangle to copy, the byte offset of its
/// first pixel in the backing (le64), resource_id, padding.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuTransferToHost2d
{
    public const int Size = 56;
    public const int HeaderOffset = 0;
    public const int RectOffset = 24;
    public const int OffsetOffset = 40;
    public const int ResourceIdOffset = 48;

    private VirtioGpuCtrlHeader _header;
    private VirtioGpuRect _rect;
    private ulong _offset;
    private uint _resourceId;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>The part of the resource to copy from its backing.</summary>
    public VirtioGpuRect Rect { readonly get => _rect; set => _rect = value; }

    /// <summary>Byte offset in the backing of the rectangle's first pixel (le64).</summary>
    public ulong Offset { readonly get => LittleEndian.ToHost(_offset); set => _offset = LittleEndian.FromHost(value); }

    /// <summary>The resource (le32).</summary>
    public uint ResourceId { readonly get => LittleEndian.ToHost(_resourceId); set => _resourceId = LittleEndian.FromHost(value); }
}
