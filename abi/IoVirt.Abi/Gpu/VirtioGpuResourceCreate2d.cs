using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// RESOURCE_CREATE_2D, virtio 1.2 §5.7.6.8: header, resource_id, format, width, height (le32 each).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuResourceCreate2d
{
    public const int Size = 40;
    public const int HeaderOffset = 0;
    public const int ResourceIdOffset = 24;
    public const int FormatOffset = 28;
    public const int WidthOffset = 32;
    public const int HeightOffset = 36;

    private VirtioGpuCtrlHeader _header;
    private uint _resourceId;
    private uint _format;
    private uint _width;
    private uint _height;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>Id the driver chose; zero is never valid (le32).</summary>
    public uint ResourceId { readonly get => LittleEndian.ToHost(_resourceId); set => _resourceId = LittleEndian.FromHost(value); }

    /// <summary>Pixel format (le32).</summary>
    public VirtioGpuFormat Format { readonly get => (VirtioGpuFormat)LittleEndian.ToHost(_format); set => _format = LittleEndian.FromHost((uint)value); }

    /// <summary>Width in pixels (le32).</summary>
    public uint Width { readonly get => LittleEndian.ToHost(_width); set => _width = LittleEndian.FromHost(value); }

    /// <summary>Height in pixels (le32).</summary>
    public uint Height { readonly get => LittleEndian.ToHost(_height); set => _height = LittleEndian.FromHost(value); }
}
