namespace IoVirt.Backends.Blk;

/// <summary>How a block device presents its image.</summary>
public sealed record BlkDeviceOptions
{
    /// <summary>Request queues offered (MQ when more than one).</summary>
    public int Queues { get; init; } = 1;

    /// <summary>Refuse writes, discards and write-zeroes, and offer VIRTIO_BLK_F_RO.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>The GET_ID string (at most 20 bytes of ASCII).</summary>
    public string Serial { get; init; } = "iovirt";

    public BlockEngineKind Engine { get; init; } = BlockEngineKind.Auto;

    /// <summary>The part of the image this device is (a guest's volume on a shared image); null: all of it.</summary>
    public Volumes.BlockVolume? Volume { get; init; }

    /// <summary>The arbiter the device's requests wait for, when the image is shared with other tenants; null: none.</summary>
    public BlkArbitration? Arbitration { get; init; }

    /// <summary>Where the device's figures go (see <see cref="BlkMetrics"/>); null: nowhere.</summary>
    public BlkMetrics? Metrics { get; init; }

    /// <summary>The device's name in its figures (the tag "device"); null: the serial.</summary>
    public string? MetricsName { get; init; }

    /// <summary>
    /// For the io_uring engine on a host that gives the back end a core: a kernel thread bound to
    /// this CPU takes each queue's submissions (IORING_SETUP_SQPOLL), so the worker submits
    /// without a system call; null (the default): the worker submits with io_uring_enter.
    /// </summary>
    public int? SubmissionPollCpu { get; init; }

    /// <summary>
    /// For the io_uring engine: each queue's ring pins the guest's memory and registers it as
    /// fixed buffers, so a request with one data buffer costs the kernel no address resolution
    /// (less CPU per request with O_DIRECT). The guest's memory then stays resident for the
    /// daemon's life, which defeats a balloon or an overcommitted host, so it is off by default.
    /// </summary>
    public bool FixedBuffers { get; init; }

    /// <summary>
    /// The engine a device with these options gets on <paramref name="image"/>: <see cref="Engine"/>
    /// as the image resolves it. Throws <see cref="ArgumentException"/> when the image cannot have
    /// that engine, and <see cref="BlkEngineConflictException"/> (an ArgumentException that names
    /// the option) when an option set here is for the uring engine only and the image resolved to
    /// another.
    /// </summary>
    public BlockEngineKind EngineOn(IBlockImage image)
    {
        var engine = image.ResolveEngine(Engine);
        if (engine == BlockEngineKind.Uring)
        {
            return engine;
        }

        return SubmissionPollCpu is not null ? throw new BlkEngineConflictException(nameof(SubmissionPollCpu), "submission polling is", engine)
            : FixedBuffers ? throw new BlkEngineConflictException(nameof(FixedBuffers), "fixed buffers are", engine)
            : engine;
    }

    /// <summary>Largest ring accepted (and the depth each queue's engine is sized for).</summary>
    public int MaxQueueSize { get; init; } = 1024;
}
