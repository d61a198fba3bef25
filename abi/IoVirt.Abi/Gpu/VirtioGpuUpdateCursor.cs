using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// UPDATE_CURSOR and MOVE_CURSOR on the cursor queue, virtio 1.2 §5.7.6.10: header, position,
/// resource_id, hot_x, hot_y, padding (the last three for UPDATE_CURSOR only).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuUpdateCursor
{
    public const int Size = 56;
    public const int HeaderOffset = 0;
    public const int PositionOffset = 24;
    public const int ResourceIdOffset = 40;
    public const int HotXOffset = 44;
    public const int HotYOffset = 48;

    private VirtioGpuCtrlHeader _header;
    private VirtioGpuCursorPos _position;
    private uint _resourceId;
    private uint _hotX;
    private uint _hotY;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>Where the cursor is.</summary>
    public VirtioGpuCursorPos Position { readonly get => _position; set => _position = value; }

    /// <summary>The cursor image, a 64x64 resource; zero hides the cursor (le32).</summary>
    public uint ResourceId { readonly get => LittleEndian.ToHost(_resourceId); set => _resourceId = LittleEndian.FromHost(value); }

    /// <summary>Hot spot in the image (le32).</summary>
    public uint HotX { readonly get => LittleEndian.ToHost(_hotX); set => _hotX = LittleEndian.FromHost(value); }

    /// <summary>Hot spot in the image (le32).</summary>
    public uint HotY { readonly get => LittleEndian.ToHost(_hotY); set => _hotY = LittleEndian.FromHost(value); }
}
