using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// A cursor position, virtio 1.2 §5.7.6.10: scanout_id, x, y, padding (le32 each).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuCursorPos
{
    public const int Size = 16;
    public const int ScanoutIdOffset = 0;
    public const int XOffset = 4;
    public const int YOffset = 8;

    private uint _scanoutId;
    private uint _x;
    private uint _y;
    private readonly uint _padding;

    /// <summary>The scanout the cursor is on (le32).</summary>
    public uint ScanoutId { readonly get => LittleEndian.ToHost(_scanoutId); set => _scanoutId = LittleEndian.FromHost(value); }

    /// <summary>Position in pixels (le32).</summary>
    public uint X { readonly get => LittleEndian.ToHost(_x); set => _x = LittleEndian.FromHost(value); }

    /// <summary>Position in pixels (le32).</summary>
    public uint Y { readonly get => LittleEndian.ToHost(_y); set => _y = LittleEndian.FromHost(value); }
}
