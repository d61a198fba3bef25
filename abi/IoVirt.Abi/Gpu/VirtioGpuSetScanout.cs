using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// SET_SCANOUT, virtio 1.2 §5.7.6.8: header, the rectangle of the resource to show, scanout_id,
/// resource_id (zero turns the scanout off).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuSetScanout
{
    public const int Size = 48;
    public const int HeaderOffset = 0;
    public const int RectOffset = 24;
    public const int ScanoutIdOffset = 40;
    public const int ResourceIdOffset = 44;

    private VirtioGpuCtrlHeader _header;
    private VirtioGpuRect _rect;
    private uint _scanoutId;
    private uint _resourceId;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>The part of the resource the scanout shows.</summary>
    public VirtioGpuRect Rect { readonly get => _rect; set => _rect = value; }

    /// <summary>The scanout (le32).</summary>
    public uint ScanoutId { readonly get => LittleEndian.ToHost(_scanoutId); set => _scanoutId = LittleEndian.FromHost(value); }

    /// <summary>The resource to show; zero disables the scanout (le32).</summary>
    public uint ResourceId { readonly get => LittleEndian.ToHost(_resourceId); set => _resourceId = LittleEndian.FromHost(value); }
}
