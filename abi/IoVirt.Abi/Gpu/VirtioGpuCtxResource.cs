using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// CTX_ATTACH_RESOURCE and CTX_DETACH_RESOURCE, virtio 1.2 §5.7.6.8: header (its ctx_id names the
/// context), resource_id, padding.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuCtxResource
{
    public const int Size = 32;
    public const int ResourceIdOffset = 24;

    private VirtioGpuCtrlHeader _header;
    private uint _resourceId;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>The resource (le32).</summary>
    public uint ResourceId { readonly get => LittleEndian.ToHost(_resourceId); set => _resourceId = LittleEndian.FromHost(value); }
}
