namespace IoVirt.Virtqueue;

/// <summary>
/// Where the device stands in a queue, to save and restore it (vhost-user GET/SET_VRING_BASE).
/// Split: free-running 16-bit indices, wrap counters unused. Packed: ring offsets below the queue
/// size with their wrap counters.
/// </summary>
public readonly record struct QueuePosition(ushort NextAvail, bool AvailWrap, ushort NextUsed, bool UsedWrap)
{
    /// <summary>A fresh queue: both indices zero, both packed wrap counters set (virtio 1.2 §2.8.1).</summary>
    public static QueuePosition Initial => new(0, true, 0, true);

    /// <summary>vhost-user packs a packed-ring position in 32 bits: avail offset, avail wrap, used offset, used wrap.</summary>
    public uint ToPackedWord() => (uint)(NextAvail & 0x7fff) | (AvailWrap ? 1u << 15 : 0) | ((uint)(NextUsed & 0x7fff) << 16) | (UsedWrap ? 1u << 31 : 0);

    public static QueuePosition FromPackedWord(uint word) =>
        new((ushort)(word & 0x7fff), (word & (1u << 15)) != 0, (ushort)((word >> 16) & 0x7fff), (word & (1u << 31)) != 0);

    /// <summary>
    /// The position a front end's SET_VRING_BASE gives a packed ring. Some front ends send only
    /// the avail half and leave the used half zero (DPDK's virtio_user: its own back end reads no
    /// more and takes the used position to be the avail one). A used half of zero is read that
    /// way too: a ring stopped with nothing in flight has both positions equal, and requests left
    /// in flight are recovered from the inflight region instead. Read literally, it would put a
    /// fresh ring's used wrap counter at 0, and the driver would never see a used descriptor.
    /// </summary>
    public static QueuePosition FromPackedBase(uint word)
    {
        var position = FromPackedWord(word);
        return (word >> 16) == 0 ? position with { NextUsed = position.NextAvail, UsedWrap = position.AvailWrap } : position;
    }
}
