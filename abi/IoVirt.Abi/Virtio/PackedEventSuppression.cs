using System.Runtime.InteropServices;

namespace IoVirt.Abi.Virtio;

/// <summary>Event suppression modes of the packed ring, virtio 1.2 §2.8.10.</summary>
public enum PackedEventFlags : ushort
{
    /// <summary>Events are wanted.</summary>
    Enable = 0,
    /// <summary>Events are not wanted.</summary>
    Disable = 1,
    /// <summary>An event is wanted when the ring passes the descriptor named by off_wrap (needs EVENT_IDX).</summary>
    Desc = 2,
}

/// <summary>
/// Packed-ring event suppression structure (struct pvirtq_event_suppress): desc_event_off_wrap
/// (bits 0-14 a ring offset, bit 15 a wrap counter) and desc_event_flags, both le16.
/// The driver's copy tells the device when to interrupt; the device's copy tells the driver when to notify.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct PackedEventSuppression
{
    public const int Size = 4;
    public const int OffWrapOffset = 0;
    public const int FlagsOffset = 2;

    private ushort _offWrap;
    private ushort _flags;

    public ushort OffWrap { readonly get => LittleEndian.ToHost(_offWrap); set => _offWrap = LittleEndian.FromHost(value); }

    /// <summary>Only the low two bits carry the mode; the rest are reserved.</summary>
    public PackedEventFlags Flags { readonly get => (PackedEventFlags)(LittleEndian.ToHost(_flags) & 3); set => _flags = LittleEndian.FromHost((ushort)value); }
}
