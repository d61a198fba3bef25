namespace IoVirt.Backends.Blk.Client;

/// <summary>How a <see cref="BlkClient"/> sets up its queue and buffers.</summary>
public sealed record BlkClientOptions
{
    /// <summary>Request queues to start (more than one needs the back end's VIRTIO_BLK_F_MQ and as many queues).</summary>
    public int Queues { get; init; } = 1;

    /// <summary>Ring entries of each queue (a power of two).</summary>
    public int QueueSize { get; init; } = 256;

    /// <summary>Requests that can be outstanding at once on each queue, each with its own buffers.</summary>
    public int Slots { get; init; } = 32;

    /// <summary>Largest data buffer of one request.</summary>
    public int MaxBlockSize { get; init; } = 1 << 20;

    /// <summary>Use the packed ring format if the back end offers it.</summary>
    public bool Packed { get; init; }

    /// <summary>Keep an inflight buffer (INFLIGHT_SHMFD), so a restarted back end can resubmit what was outstanding.</summary>
    public bool TrackInflight { get; init; }
}
