namespace IoVirt.Memory;

/// <summary>
/// The current guest memory map of a device, swappable while workers run. Readers take a
/// <see cref="GuestMemoryLease"/>; a swap publishes the new snapshot at once and drops the
/// holder's reference to the old one, whose mappings are released when the last lease on it ends.
/// Workers hold a lease across a batch and compare <see cref="Generation"/> between batches, so
/// the hot path costs one volatile read.
/// </summary>
public sealed class AtomicGuestMemory : IDisposable
{
    private GuestMemory _current;
    private long _generation;

    /// <summary>Starts with <paramref name="initial"/>, taking over the caller's reference.</summary>
    public AtomicGuestMemory(GuestMemory initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _current = initial;
    }

    /// <summary>Counts swaps; a worker whose lease is of an older generation should renew it.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>Takes a reference on the current snapshot.</summary>
    public GuestMemoryLease Acquire()
    {
        while (true)
        {
            var generation = Volatile.Read(ref _generation);
            var memory = Volatile.Read(ref _current);
            // A snapshot whose count already reached zero was replaced and released between the
            // two reads; read again and take the newer one.
            if (memory.TryAddReference())
            {
                return new GuestMemoryLease(memory, generation);
            }
        }
    }

    /// <summary>Publishes <paramref name="next"/> (taking over the caller's reference) and releases the holder's reference to the old map.</summary>
    public void Swap(GuestMemory next)
    {
        ArgumentNullException.ThrowIfNull(next);
        var old = Interlocked.Exchange(ref _current, next);
        Interlocked.Increment(ref _generation);
        old.Dispose();
    }

    /// <summary>Applies <paramref name="change"/> to the current map and publishes the result (the control plane's single writer).</summary>
    public void Update(Func<GuestMemory, GuestMemory> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        using var lease = Acquire();
        Swap(change(lease.Memory));
    }

    public void Dispose() => Volatile.Read(ref _current).Dispose();
}
