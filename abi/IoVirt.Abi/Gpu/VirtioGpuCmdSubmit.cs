using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// SUBMIT_3D, virtio 1.2 §5.7.6.8: header (its ctx_id names the context), size, padding; then
/// size bytes of the renderer's command stream.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuCmdSubmit
{
    public const int Size = 32;
    public const int SizeOffset = 24;

    private VirtioGpuCtrlHeader _header;
    private uint _size;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>Bytes of command stream after this struct (le32).</summary>
    public uint StreamSize { readonly get => LittleEndian.ToHost(_size); set => _size = LittleEndian.FromHost(value); }
}
