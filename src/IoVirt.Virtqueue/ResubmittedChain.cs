namespace IoVirt.Virtqueue;

/// <summary>
/// A chain that inflight recovery hands out again: where it starts (split: its head in the
/// descriptor table; packed: its first descriptor in the tracker's resubmit table), the ring
/// slots it took and its buffer id.
/// </summary>
internal readonly record struct ResubmittedChain(ushort First, ushort Count, ushort Id);
