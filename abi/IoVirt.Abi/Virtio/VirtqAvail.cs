using System.Runtime.InteropServices;

namespace IoVirt.Abi.Virtio;

/// <summary>Flags the driver writes in the available ring, virtio 1.2 §2.7.6.</summary>
[Flags]
public enum VirtqAvailFlags : ushort
{
    None = 0,
    /// <summary>The driver asks not to be interrupted (ignored once EVENT_IDX is negotiated).</summary>
    NoInterrupt = 1,
}

/// <summary>
/// Fixed head of the split available ring (struct virtq_avail): flags then idx, both le16. It is
/// followed by ring[queue size] (le16 each) and, with EVENT_IDX, used_event (le16).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = HeaderSize)]
public struct VirtqAvail
{
    public const int HeaderSize = 4;
    public const int FlagsOffset = 0;
    public const int IdxOffset = 2;
    public const int RingOffset = 4;
    public const int ElementSize = 2;

    private ushort _flags;
    private ushort _idx;

    public VirtqAvailFlags Flags { readonly get => (VirtqAvailFlags)LittleEndian.ToHost(_flags); set => _flags = LittleEndian.FromHost((ushort)value); }

    /// <summary>Where the driver will put the next entry, modulo 2^16 (le16).</summary>
    public ushort Idx { readonly get => LittleEndian.ToHost(_idx); set => _idx = LittleEndian.FromHost(value); }

    /// <summary>Bytes the whole available ring occupies for a queue of <paramref name="queueSize"/>, used_event included.</summary>
    public static ulong TotalSize(int queueSize) => (ulong)(HeaderSize + (ElementSize * queueSize) + 2);

    /// <summary>Offset of used_event, which follows the ring.</summary>
    public static int UsedEventOffset(int queueSize) => RingOffset + (ElementSize * queueSize);

    /// <summary>Required alignment of the available ring (virtio 1.2 §2.7).</summary>
    public const int Alignment = 2;
}
