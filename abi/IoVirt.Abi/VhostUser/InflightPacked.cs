using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Per-descriptor entry of a packed queue's inflight region (DescStatePacked, vhost-user.rst,
/// "Inflight I/O tracking"): inflight u8, padding u8, next, last and num u16, counter u64, then a copy
/// of the descriptor (id u16, flags u16, len u32, addr u64). Host-shared memory: native byte order.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct InflightDescStatePacked
{
    public const int Size = 32;
    public const int InflightOffset = 0;
    public const int NextOffset = 2;
    public const int LastOffset = 4;
    public const int NumOffset = 6;
    public const int CounterOffset = 8;
    public const int IdOffset = 16;
    public const int FlagsOffset = 18;
    public const int LenOffset = 20;
    public const int AddrOffset = 24;

    private byte _inflight;
    private readonly byte _padding;
    private ushort _next;
    private ushort _last;
    private ushort _num;
    private ulong _counter;
    private ushort _id;
    private ushort _flags;
    private uint _len;
    private ulong _addr;

    /// <summary>1 while the chain headed here is being processed (u8).</summary>
    public byte Inflight { readonly get => _inflight; set => _inflight = value; }

    /// <summary>Link to the next free entry (u16, native order).</summary>
    public ushort Next { readonly get => _next; set => _next = value; }

    /// <summary>Head only: entry of the chain's last descriptor (u16, native order).</summary>
    public ushort Last { readonly get => _last; set => _last = value; }

    /// <summary>Head only: descriptors in the chain (u16, native order).</summary>
    public ushort Num { readonly get => _num; set => _num = value; }

    /// <summary>Head only: order in which the chain was fetched (u64, native order).</summary>
    public ulong Counter { readonly get => _counter; set => _counter = value; }

    /// <summary>Buffer id copied from the descriptor (u16, native order).</summary>
    public ushort Id { readonly get => _id; set => _id = value; }

    /// <summary>Descriptor flags copied from the descriptor (u16, native order).</summary>
    public ushort Flags { readonly get => _flags; set => _flags = value; }

    /// <summary>Buffer length copied from the descriptor (u32, native order).</summary>
    public uint Len { readonly get => _len; set => _len = value; }

    /// <summary>Buffer address copied from the descriptor (u64, native order).</summary>
    public ulong Addr { readonly get => _addr; set => _addr = value; }
}

/// <summary>
/// Head of a packed queue's inflight region (QueueRegionPacked, vhost-user.rst, "Inflight I/O
/// tracking"): features u64; version, desc_num, free_head, old_free_head, used_idx, old_used_idx u16;
/// used_wrap_counter and old_used_wrap_counter u8; seven bytes padding. The C struct's alignment adds
/// three more bytes, so desc_num <see cref="InflightDescStatePacked"/> entries follow at offset 32.
/// Native byte order.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = HeaderSize)]
public struct InflightQueueRegionPacked
{
    public const int HeaderSize = 32;
    public const int FeaturesOffset = 0;
    public const int VersionOffset = 8;
    public const int DescNumOffset = 10;
    public const int FreeHeadOffset = 12;
    public const int OldFreeHeadOffset = 14;
    public const int UsedIdxOffset = 16;
    public const int OldUsedIdxOffset = 18;
    public const int UsedWrapCounterOffset = 20;
    public const int OldUsedWrapCounterOffset = 21;
    public const int DescOffset = 32;

    /// <summary>The region version the spec defines; 0 means the region is not initialized.</summary>
    public const ushort CurrentVersion = 1;

    private ulong _features;
    private ushort _version;
    private ushort _descNum;
    private ushort _freeHead;
    private ushort _oldFreeHead;
    private ushort _usedIdx;
    private ushort _oldUsedIdx;
    private byte _usedWrapCounter;
    private byte _oldUsedWrapCounter;
    private readonly FixedBytes7 _padding;

    /// <summary>Region feature flags, currently 0 (u64, native order).</summary>
    public ulong Features { readonly get => _features; set => _features = value; }

    public ushort Version { readonly get => _version; set => _version = value; }

    /// <summary>Entries in the desc array, the queue size (u16, native order).</summary>
    public ushort DescNum { readonly get => _descNum; set => _descNum = value; }

    /// <summary>Head of the free entry list (u16, native order).</summary>
    public ushort FreeHead { readonly get => _freeHead; set => _freeHead = value; }

    /// <summary>Free list head as of the last completed batch (u16, native order).</summary>
    public ushort OldFreeHead { readonly get => _oldFreeHead; set => _oldFreeHead = value; }

    /// <summary>Next used index in the descriptor ring (u16, native order).</summary>
    public ushort UsedIdx { readonly get => _usedIdx; set => _usedIdx = value; }

    /// <summary>Used index as of the last completed batch (u16, native order).</summary>
    public ushort OldUsedIdx { readonly get => _oldUsedIdx; set => _oldUsedIdx = value; }

    /// <summary>Device ring wrap counter (u8).</summary>
    public byte UsedWrapCounter { readonly get => _usedWrapCounter; set => _usedWrapCounter = value; }

    /// <summary>Device ring wrap counter as of the last completed batch (u8).</summary>
    public byte OldUsedWrapCounter { readonly get => _oldUsedWrapCounter; set => _oldUsedWrapCounter = value; }
}
