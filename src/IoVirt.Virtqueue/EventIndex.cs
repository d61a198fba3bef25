namespace IoVirt.Virtqueue;

/// <summary>The spec's event-index tests (virtio 1.2 §2.7.10 for split rings, §2.8.10 for packed).</summary>
public static class EventIndex
{
    /// <summary>
    /// True when moving an index from <paramref name="oldIndex"/> to <paramref name="newIndex"/>
    /// passes <paramref name="eventIndex"/>, all modulo 2^16: the other side asked to be told
    /// once the index goes beyond its event index (vring_need_event).
    /// </summary>
    public static bool NeedsEvent(ushort eventIndex, ushort newIndex, ushort oldIndex) =>
        unchecked((ushort)(newIndex - eventIndex - 1) < (ushort)(newIndex - oldIndex));

    /// <summary>
    /// The packed-ring form: <paramref name="offWrap"/> is the other side's desc_event_off_wrap
    /// (offset in bits 0-14, wrap counter in bit 15), and the indices are ring offsets below
    /// <paramref name="size"/>; <paramref name="newWrap"/> is the wrap counter at <paramref name="newIndex"/>.
    /// Both offsets are moved into one 16-bit window before the split-ring test.
    /// </summary>
    public static bool NeedsPackedEvent(ushort offWrap, ushort newIndex, bool newWrap, ushort oldIndex, int size)
    {
        var eventOffset = (ushort)(offWrap & 0x7fff);
        unchecked
        {
            if (newIndex <= oldIndex)
            {
                oldIndex = (ushort)(oldIndex - size);
            }

            if (newWrap != ((offWrap >> 15) != 0))
            {
                eventOffset = (ushort)(eventOffset - size);
            }
        }

        return NeedsEvent(eventOffset, newIndex, oldIndex);
    }
}
