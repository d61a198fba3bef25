using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// "Inflight description" of GET/SET_INFLIGHT_FD: size and offset of the shared area in the
/// attached descriptor, queue count and queue size (QEMU's struct, padded to 24 bytes).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = InflightSize)]
public struct VhostUserInflight
{
    public const int InflightSize = 24;

    public ulong MmapSize;
    public ulong MmapOffset;
    public ushort QueueCount;
    public ushort QueueSize;
}

/// <summary>
/// Head of one split queue's area in the inflight buffer (vhost-user.rst, "Inflight I/O
/// tracking", QueueRegionSplit); <see cref="InflightSplitDescState"/> entries follow, one per
/// descriptor.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = HeaderSize)]
public struct InflightSplitHeader
{
    public const int HeaderSize = 16;

    /// <summary>The only version defined; zero marks an area never initialised.</summary>
    public const ushort CurrentVersion = 1;

    public ulong Features;
    public ushort Version;
    public ushort DescriptorCount;
    public ushort LastBatchHead;
    public ushort UsedIndex;
}

/// <summary>Per-descriptor state of a split queue (DescStateSplit): in flight, batch link, pop order.</summary>
[StructLayout(LayoutKind.Sequential, Size = StateSize)]
public struct InflightSplitDescState
{
    public const int StateSize = 16;

    public byte Inflight;
    private readonly byte _padding0;
    private readonly byte _padding1;
    private readonly byte _padding2;
    private readonly byte _padding3;
    private readonly byte _padding4;
    public ushort Next;
    public ulong Counter;
}
