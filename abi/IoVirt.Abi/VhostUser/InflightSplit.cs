using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Per-descriptor entry of a split queue's inflight region (DescStateSplit, vhost-user.rst,
/// "Inflight I/O tracking"): inflight u8, five bytes padding, next u16, counter u64. The region is
/// memory shared by the front-end and back-end on one host, so fields are in native byte order.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct InflightDescStateSplit
{
    public const int Size = 16;
    public const int InflightOffset = 0;
    public const int NextOffset = 6;
    public const int CounterOffset = 8;

    private byte _inflight;
    private readonly FixedBytes5 _padding;
    private ushort _next;
    private ulong _counter;

    /// <summary>1 while the head descriptor is being processed (u8).</summary>
    public byte Inflight { readonly get => _inflight; set => _inflight = value; }

    /// <summary>Link in the list of the last batch of used descriptors (u16, native order).</summary>
    public ushort Next { readonly get => _next; set => _next = value; }

    /// <summary>Order in which the head descriptor was fetched (u64, native order).</summary>
    public ulong Counter { readonly get => _counter; set => _counter = value; }
}

/// <summary>
/// Head of a split queue's inflight region (QueueRegionSplit, vhost-user.rst, "Inflight I/O
/// tracking"): features u64, then version, desc_num, last_batch_head and used_idx, u16 each, native
/// byte order. desc_num <see cref="InflightDescStateSplit"/> entries follow at <see cref="DescOffset"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = HeaderSize)]
public struct InflightQueueRegionSplit
{
    public const int HeaderSize = 16;
    public const int FeaturesOffset = 0;
    public const int VersionOffset = 8;
    public const int DescNumOffset = 10;
    public const int LastBatchHeadOffset = 12;
    public const int UsedIdxOffset = 14;
    public const int DescOffset = 16;

    /// <summary>The region version the spec defines; 0 means the region is not initialized.</summary>
    public const ushort CurrentVersion = 1;

    private ulong _features;
    private ushort _version;
    private ushort _descNum;
    private ushort _lastBatchHead;
    private ushort _usedIdx;

    /// <summary>Region feature flags, currently 0 (u64, native order).</summary>
    public ulong Features { readonly get => _features; set => _features = value; }

    public ushort Version { readonly get => _version; set => _version = value; }

    /// <summary>Entries in the desc array, the queue size (u16, native order).</summary>
    public ushort DescNum { readonly get => _descNum; set => _descNum = value; }

    /// <summary>Head of the list of the last batch of used descriptors (u16, native order).</summary>
    public ushort LastBatchHead { readonly get => _lastBatchHead; set => _lastBatchHead = value; }

    /// <summary>The used ring idx as of the last completed batch (u16, native order).</summary>
    public ushort UsedIdx { readonly get => _usedIdx; set => _usedIdx = value; }
}
