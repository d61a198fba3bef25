using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// One scanout in OK_DISPLAY_INFO, virtio 1.2 §5.7.6.8: its preferred rectangle, enabled, flags.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuDisplayOne
{
    public const int Size = 24;
    public const int RectOffset = 0;
    public const int EnabledOffset = 16;
    public const int FlagsOffset = 20;

    private VirtioGpuRect _rect;
    private uint _enabled;
    private uint _flags;

    /// <summary>Preferred position and size.</summary>
    public VirtioGpuRect Rect { readonly get => _rect; set => _rect = value; }

    /// <summary>Nonzero when a display is connected (le32).</summary>
    public uint Enabled { readonly get => LittleEndian.ToHost(_enabled); set => _enabled = LittleEndian.FromHost(value); }

    /// <summary>Reserved (le32).</summary>
    public uint Flags { readonly get => LittleEndian.ToHost(_flags); set => _flags = LittleEndian.FromHost(value); }
}
