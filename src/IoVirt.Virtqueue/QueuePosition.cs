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
}
