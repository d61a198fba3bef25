namespace IoVirt.Virtqueue;

/// <summary>
/// What the device hands back to complete a popped chain: the buffer id (split: the head
/// descriptor index) and, for the packed ring, how many ring slots the chain used.
/// </summary>
public readonly struct ChainHead(ushort id, ushort ringDescriptors)
{
    public ushort Id { get; } = id;

    /// <summary>Ring slots the chain occupies (packed ring); an indirect chain occupies one.</summary>
    public ushort RingDescriptors { get; } = ringDescriptors;
}
