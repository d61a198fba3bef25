using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Payload of GET_INFLIGHT_FD and SET_INFLIGHT_FD (vhost-user.rst, "Inflight description"): size and
/// offset of the inflight area in the fd (u64), number of queues and queue size (u16), native byte
/// order. Like the C struct it is padded to 24 bytes, the size sent.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserInflight
{
    public const int Size = 24;
    public const int MmapSizeOffset = 0;
    public const int MmapOffsetOffset = 8;
    public const int NumQueuesOffset = 16;
    public const int QueueSizeOffset = 18;

    private ulong _mmapSize;
    private ulong _mmapOffset;
    private ushort _numQueues;
    private ushort _queueSize;

    /// <summary>Bytes of the inflight area (u64, native order).</summary>
    public ulong MmapSize { readonly get => _mmapSize; set => _mmapSize = value; }

    /// <summary>Offset of the area in the fd (u64, native order).</summary>
    public ulong MmapOffset { readonly get => _mmapOffset; set => _mmapOffset = value; }

    /// <summary>Queues tracked, one queue region each (u16, native order).</summary>
    public ushort NumQueues { readonly get => _numQueues; set => _numQueues = value; }

    /// <summary>Descriptors per queue (u16, native order).</summary>
    public ushort QueueSize { readonly get => _queueSize; set => _queueSize = value; }
}
