using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// CTX_CREATE, virtio 1.2 §5.7.6.8: header (its ctx_id names the new context), nlen, context_init
/// (the capset id in its low byte when VIRTIO_GPU_F_CONTEXT_INIT is on), and a debug name of up to
/// 64 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuCtxCreate
{
    public const int Size = 96;
    public const int NameLengthOffset = 24;
    public const int ContextInitOffset = 28;
    public const int DebugNameOffset = 32;
    public const int DebugNameSize = 64;

    private VirtioGpuCtrlHeader _header;
    private uint _nameLength;
    private uint _contextInit;
    private DebugNameBytes _debugName;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>Bytes of <see cref="DebugName"/> in use (le32).</summary>
    public uint NameLength { readonly get => LittleEndian.ToHost(_nameLength); set => _nameLength = LittleEndian.FromHost(value); }

    /// <summary>Context flags; the low byte is a capset id (le32).</summary>
    public uint ContextInit { readonly get => LittleEndian.ToHost(_contextInit); set => _contextInit = LittleEndian.FromHost(value); }

    /// <summary>The name a debugger shows for the context, not terminated.</summary>
    [UnscopedRef]
    public Span<byte> DebugName => _debugName;

    [InlineArray(DebugNameSize)]
    private struct DebugNameBytes
    {
        private byte _first;
    }
}
