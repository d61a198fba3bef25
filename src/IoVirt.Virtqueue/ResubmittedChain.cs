namespace IoVirt.Virtqueue;

/// <summary>A chain that inflight recovery hands out again: its first ring slot (split: its head), ring slots and buffer id.</summary>
internal readonly record struct ResubmittedChain(ushort Slot, ushort Count, ushort Id);
