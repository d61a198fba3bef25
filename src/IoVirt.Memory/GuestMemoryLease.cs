namespace IoVirt.Memory;

/// <summary>A reference on one guest memory snapshot; its mappings stay valid until the lease is disposed.</summary>
public readonly struct GuestMemoryLease(GuestMemory memory, long generation) : IDisposable
{
    public GuestMemory Memory { get; } = memory;

    /// <summary>The <see cref="AtomicGuestMemory.Generation"/> the snapshot was current in.</summary>
    public long Generation { get; } = generation;

    public void Dispose() => Memory?.Dispose();
}
