using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// The commands whose body is one resource id and padding, virtio 1.2 §5.7.6.8: RESOURCE_UNREF
/// (virtio_gpu_resource_unref), RESOURCE_DETACH_BACKING (virtio_gpu_resource_detach_backing), and
/// CTX_ATTACH_RESOURCE and CTX_DETACH_RESOURCE (virtio_gpu_ctx_resource, whose header's ctx_id
/// names the context).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuResourceIdCommand
{
    public const int Size = 32;
    public const int HeaderOffset = 0;
    public const int ResourceIdOffset = 24;

    private VirtioGpuCtrlHeader _header;
    private uint _resourceId;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>The resource (le32).</summary>
    public uint ResourceId { readonly get => LittleEndian.ToHost(_resourceId); set => _resourceId = LittleEndian.FromHost(value); }
}
