using System.Runtime.InteropServices;

namespace IoVirt.Abi.Virtio;

/// <summary>Flags the device writes in the used ring, virtio 1.2 §2.7.8.</summary>
[Flags]
public enum VirtqUsedFlags : ushort
{
    None = 0,
    /// <summary>The device asks not to be notified (ignored once EVENT_IDX is negotiated).</summary>
    NoNotify = 1,
}

/// <summary>
/// Fixed head of the split used ring (struct virtq_used): flags then idx, both le16. It is followed
/// by ring[queue size] of <see cref="VirtqUsedElem"/> and, with EVENT_IDX, avail_event (le16).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = HeaderSize)]
public struct VirtqUsed
{
    public const int HeaderSize = 4;
    public const int FlagsOffset = 0;
    public const int IdxOffset = 2;
    public const int RingOffset = 4;

    private ushort _flags;
    private ushort _idx;

    public VirtqUsedFlags Flags { readonly get => (VirtqUsedFlags)LittleEndian.ToHost(_flags); set => _flags = LittleEndian.FromHost((ushort)value); }

    /// <summary>Where the device will put the next entry, modulo 2^16 (le16).</summary>
    public ushort Idx { readonly get => LittleEndian.ToHost(_idx); set => _idx = LittleEndian.FromHost(value); }

    /// <summary>Bytes the whole used ring occupies for a queue of <paramref name="queueSize"/>, avail_event included.</summary>
    public static ulong TotalSize(int queueSize) => (ulong)(HeaderSize + (VirtqUsedElem.Size * queueSize) + 2);

    /// <summary>Offset of avail_event, which follows the ring.</summary>
    public static int AvailEventOffset(int queueSize) => RingOffset + (VirtqUsedElem.Size * queueSize);

    /// <summary>Required alignment of the used ring (virtio 1.2 §2.7).</summary>
    public const int Alignment = 4;
}

/// <summary>One used-ring element (struct virtq_used_elem): head id and bytes written, le32 each.</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtqUsedElem
{
    public const int Size = 8;

    private uint _id;
    private uint _len;

    /// <summary>Index of the head descriptor of the completed chain (le32).</summary>
    public uint Id { readonly get => LittleEndian.ToHost(_id); set => _id = LittleEndian.FromHost(value); }

    /// <summary>Bytes the device wrote into the chain's writable buffers (le32).</summary>
    public uint Len { readonly get => LittleEndian.ToHost(_len); set => _len = LittleEndian.FromHost(value); }
}
