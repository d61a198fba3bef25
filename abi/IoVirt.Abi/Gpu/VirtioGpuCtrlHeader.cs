using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// Header of every control and cursor queue message, request and response alike, virtio 1.2
/// §5.7.6.7: type (le32), flags (le32), fence_id (le64), ctx_id (le32), ring_idx (u8), 3 bytes
/// of padding.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuCtrlHeader
{
    public const int Size = 24;
    public const int TypeOffset = 0;
    public const int FlagsOffset = 4;
    public const int FenceIdOffset = 8;
    public const int CtxIdOffset = 16;
    public const int RingIdxOffset = 20;

    private uint _type;
    private uint _flags;
    private ulong _fenceId;
    private uint _ctxId;
    private byte _ringIdx;
    private FixedBytes3 _padding;

    /// <summary>Command or response type (le32).</summary>
    public VirtioGpuCtrlType Type { readonly get => (VirtioGpuCtrlType)LittleEndian.ToHost(_type); set => _type = LittleEndian.FromHost((uint)value); }

    /// <summary>Fence flags (le32).</summary>
    public VirtioGpuCtrlFlags Flags { readonly get => (VirtioGpuCtrlFlags)LittleEndian.ToHost(_flags); set => _flags = LittleEndian.FromHost((uint)value); }

    /// <summary>Fence id, echoed in the response of a fenced command (le64).</summary>
    public ulong FenceId { readonly get => LittleEndian.ToHost(_fenceId); set => _fenceId = LittleEndian.FromHost(value); }

    /// <summary>3D context the command runs in; zero for 2D (le32).</summary>
    public uint CtxId { readonly get => LittleEndian.ToHost(_ctxId); set => _ctxId = LittleEndian.FromHost(value); }

    /// <summary>Fence timeline within the context, with <see cref="VirtioGpuCtrlFlags.InfoRingIdx"/> (u8).</summary>
    public byte RingIdx { readonly get => _ringIdx; set => _ringIdx = value; }
}
