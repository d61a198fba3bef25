using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>GET_CAPSET_INFO, virtio 1.2 §5.7.6.8: header, capset_index (0 to num_capsets - 1), padding.</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuGetCapsetInfo
{
    public const int Size = 32;
    public const int CapsetIndexOffset = 24;

    private VirtioGpuCtrlHeader _header;
    private uint _capsetIndex;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>Which of the device's capsets (le32).</summary>
    public uint CapsetIndex { readonly get => LittleEndian.ToHost(_capsetIndex); set => _capsetIndex = LittleEndian.FromHost(value); }
}
