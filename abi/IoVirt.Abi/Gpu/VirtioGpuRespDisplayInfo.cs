using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// OK_DISPLAY_INFO, virtio 1.2 §5.7.6.8: header, then one <see cref="VirtioGpuDisplayOne"/> per
/// possible scanout (16), of which the first num_scanouts mean something.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuRespDisplayInfo
{
    public const int Size = 408;
    public const int HeaderOffset = 0;
    public const int ModesOffset = 24;

    private VirtioGpuCtrlHeader _header;
    private VirtioGpuDisplayModes _modes;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>The scanouts, by scanout id.</summary>
    [UnscopedRef]
    public Span<VirtioGpuDisplayOne> Modes => _modes;
}

/// <summary>The 16 scanout entries of <see cref="VirtioGpuRespDisplayInfo"/>.</summary>
[InlineArray(VirtioGpuConfig.MaxScanouts)]
public struct VirtioGpuDisplayModes
{
    private VirtioGpuDisplayOne _element0;
}
