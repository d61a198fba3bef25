namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Layout of the num field of SET_VRING_BASE and of the GET_VRING_BASE reply (vhost-user.rst, "A
/// vring descriptor index for split virtqueues" and "... indices for packed virtqueues").
/// </summary>
public static class VhostUserVringBase
{
    /// <summary>Split ring: the next available-ring index the back-end will process; bits 16-31 are reserved.</summary>
    public const uint SplitAvailIndexMask = 0xFFFF;

    /// <summary>Packed ring: bits 0-14, the next descriptor the back-end will process.</summary>
    public const uint PackedAvailIndexMask = 0x7FFF;

    /// <summary>Packed ring: bit 15, the driver ring wrap counter.</summary>
    public const uint PackedAvailWrapCounter = 1u << 15;

    /// <summary>Packed ring: bits 16-30 hold the next used index; shift right by this much to read it.</summary>
    public const int PackedUsedIndexShift = 16;

    /// <summary>Packed ring: bits 16-30, the used index (before shifting).</summary>
    public const uint PackedUsedIndexMask = 0x7FFFu << 16;

    /// <summary>Packed ring: bit 31, the device ring wrap counter.</summary>
    public const uint PackedUsedWrapCounter = 1u << 31;
}
