using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// RESOURCE_FLUSH, virtio 1.2 §5.7.6.8: header, the rectangle of the resource that changed,
/// resource_id, padding.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuResourceFlush
{
    public const int Size = 48;
    public const int HeaderOffset = 0;
    public const int RectOffset = 24;
    public const int ResourceIdOffset = 40;

    private VirtioGpuCtrlHeader _header;
    private VirtioGpuRect _rect;
    private uint _resourceId;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>The part of the resource to bring to the scanouts showing it.</summary>
    public VirtioGpuRect Rect { readonly get => _rect; set => _rect = value; }

    /// <summary>The resource (le32).</summary>
    public uint ResourceId { readonly get => LittleEndian.ToHost(_resourceId); set => _resourceId = LittleEndian.FromHost(value); }
}
