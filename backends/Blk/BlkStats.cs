namespace IoVirt.Backends.Blk;

/// <summary>Counters of a block device since it started; written by the queue workers, read for reports.</summary>
public sealed class BlkStats
{
    public long Reads;
    public long Writes;
    public long Flushes;

    /// <summary>Discard and write-zeroes requests.</summary>
    public long Discards;

    /// <summary>Requests completed with IOERR or UNSUPP.</summary>
    public long ErrorsReported;

    /// <summary>Requests without a usable status byte, completed with nothing written.</summary>
    public long BadRequests;
}
