using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// OK_EDID, virtio 1.2 §5.7.6.8: header, size, padding, then 1024 bytes of EDID of which size
/// are valid.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuRespEdid
{
    public const int Size = 1056;
    public const int HeaderOffset = 0;
    public const int EdidSizeOffset = 24;
    public const int EdidOffset = 32;
    public const int MaxEdidBytes = 1024;

    private VirtioGpuCtrlHeader _header;
    private uint _size;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>Valid bytes of the EDID (le32).</summary>
    public uint EdidSize { readonly get => LittleEndian.ToHost(_size); set => _size = LittleEndian.FromHost(value); }
}
