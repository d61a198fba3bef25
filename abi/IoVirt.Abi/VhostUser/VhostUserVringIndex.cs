namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Layout of the u64 payload of SET_VRING_KICK, SET_VRING_CALL and SET_VRING_ERR, and of the u64 in
/// <see cref="VhostUserVringArea"/> (vhost-user.rst): the ring index in bits 0-7 and, in bit 8, a flag
/// saying no fd came with the message. The SET_DEVICE_STATE_FD reply uses the same bit 8.
/// </summary>
public static class VhostUserVringIndex
{
    /// <summary>Bits 0-7: the ring index.</summary>
    public const ulong IndexMask = 0xFF;

    /// <summary>Bit 8: no file descriptor accompanies the message (poll instead).</summary>
    public const ulong NoFdFlag = 1UL << 8;
}
