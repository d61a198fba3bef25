namespace IoVirt.Virtqueue;

/// <summary>
/// Inflight I/O tracking of one queue in an area shared with a vhost-user front end
/// (INFLIGHT_SHMFD), in the layout of the queue's format.
/// </summary>
public abstract class InflightTracker
{
    private protected InflightTracker()
    {
    }

    /// <summary>False when the area describes another queue size or version (the front end sent a different buffer).</summary>
    public abstract bool Matches { get; }
}
