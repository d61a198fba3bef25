using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// GET_EDID, virtio 1.2 §5.7.6.8: header, scanout, padding.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuGetEdid
{
    public const int Size = 32;
    public const int HeaderOffset = 0;
    public const int ScanoutOffset = 24;

    private VirtioGpuCtrlHeader _header;
    private uint _scanout;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>The scanout whose EDID is asked for (le32).</summary>
    public uint Scanout { readonly get => LittleEndian.ToHost(_scanout); set => _scanout = LittleEndian.FromHost(value); }
}
