using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

// Payloads of the vhost-user-gpu display protocol (QEMU docs/interop/vhost-user-gpu.rst). The
// protocol is host-local: u32 fields in native byte order, no padding.

/// <summary>VhostUserGpuCursorPos: scanout_id, x, y.</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserGpuCursorPos
{
    public const int Size = 12;

    private uint _scanoutId;
    private uint _x;
    private uint _y;

    public uint ScanoutId { readonly get => _scanoutId; set => _scanoutId = value; }

    public uint X { readonly get => _x; set => _x = value; }

    public uint Y { readonly get => _y; set => _y = value; }
}

/// <summary>VhostUserGpuCursorUpdate: position, hot_x, hot_y; then 64x64 a8r8g8b8 pixels follow.</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserGpuCursorUpdate
{
    public const int Size = VhostUserGpuCursorPos.Size + 8;
    public const int ImageSide = 64;
    public const int ImageBytes = ImageSide * ImageSide * 4;

    private VhostUserGpuCursorPos _position;
    private uint _hotX;
    private uint _hotY;

    public VhostUserGpuCursorPos Position { readonly get => _position; set => _position = value; }

    public uint HotX { readonly get => _hotX; set => _hotX = value; }

    public uint HotY { readonly get => _hotY; set => _hotY = value; }
}

/// <summary>VhostUserGpuScanout: scanout_id, width, height (zero: off).</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserGpuScanout
{
    public const int Size = 12;

    private uint _scanoutId;
    private uint _width;
    private uint _height;

    public uint ScanoutId { readonly get => _scanoutId; set => _scanoutId = value; }

    public uint Width { readonly get => _width; set => _width = value; }

    public uint Height { readonly get => _height; set => _height = value; }
}

/// <summary>VhostUserGpuUpdate: scanout_id, x, y, width, height; then width * height x8r8g8b8 pixels follow.</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserGpuUpdate
{
    public const int Size = 20;

    private uint _scanoutId;
    private uint _x;
    private uint _y;
    private uint _width;
    private uint _height;

    public uint ScanoutId { readonly get => _scanoutId; set => _scanoutId = value; }

    public uint X { readonly get => _x; set => _x = value; }

    public uint Y { readonly get => _y; set => _y = value; }

    public uint Width { readonly get => _width; set => _width = value; }

    public uint Height { readonly get => _height; set => _height = value; }
}
