using System.Text.Json.Serialization;

namespace IoVirt.Backends.Blk;

/// <summary>
/// Request counters of one queue, written by the queue's worker only and read by anyone (a
/// reader may see one counter a request ahead of another): the counting style of every device,
/// so queues never share a cache line's writes or lose counts to each other.
/// </summary>
public sealed class BlkCounters
{
    private long _reads;
    private long _writes;
    private long _readBytes;
    private long _writtenBytes;
    private long _flushes;
    private long _discards;
    private long _errorsReported;
    private long _badRequests;

    public long Reads => Volatile.Read(ref _reads);

    public long Writes => Volatile.Read(ref _writes);

    /// <summary>Bytes the guest's reads asked for.</summary>
    public long ReadBytes => Volatile.Read(ref _readBytes);

    /// <summary>Bytes the guest's writes carried.</summary>
    public long WrittenBytes => Volatile.Read(ref _writtenBytes);

    public long Flushes => Volatile.Read(ref _flushes);

    /// <summary>Discard and write-zeroes requests.</summary>
    public long Discards => Volatile.Read(ref _discards);

    /// <summary>Requests completed with IOERR or UNSUPP.</summary>
    public long ErrorsReported => Volatile.Read(ref _errorsReported);

    /// <summary>Requests without a usable status byte, completed with nothing written.</summary>
    public long BadRequests => Volatile.Read(ref _badRequests);

    internal void Read(long bytes)
    {
        Volatile.Write(ref _reads, _reads + 1);
        Volatile.Write(ref _readBytes, _readBytes + bytes);
    }

    internal void Written(long bytes)
    {
        Volatile.Write(ref _writes, _writes + 1);
        Volatile.Write(ref _writtenBytes, _writtenBytes + bytes);
    }

    internal void Flushed() => Volatile.Write(ref _flushes, _flushes + 1);

    internal void Discarded() => Volatile.Write(ref _discards, _discards + 1);

    internal void ErrorReported() => Volatile.Write(ref _errorsReported, _errorsReported + 1);

    internal void BadRequest() => Volatile.Write(ref _badRequests, _badRequests + 1);

    /// <summary>This queue's counters as one snapshot.</summary>
    public BlkTotals Snapshot() => new(Reads, Writes, Flushes, Discards, ErrorsReported, BadRequests, ReadBytes, WrittenBytes);

    /// <summary>The sum over <paramref name="queues"/>, as one snapshot for reports.</summary>
    public static BlkTotals Sum(IEnumerable<BlkCounters> queues)
    {
        ArgumentNullException.ThrowIfNull(queues);
        var t = default(BlkTotals);
        foreach (var q in queues)
        {
            t = t with
            {
                Reads = t.Reads + q.Reads,
                Writes = t.Writes + q.Writes,
                Flushes = t.Flushes + q.Flushes,
                Discards = t.Discards + q.Discards,
                ErrorsReported = t.ErrorsReported + q.ErrorsReported,
                BadRequests = t.BadRequests + q.BadRequests,
                ReadBytes = t.ReadBytes + q.ReadBytes,
                WrittenBytes = t.WrittenBytes + q.WrittenBytes,
            };
        }

        return t;
    }
}

/// <summary>Counters of a queue or a whole device at one moment (see <see cref="BlkCounters"/>).</summary>
public readonly record struct BlkTotals(
    [property: JsonPropertyName("reads")] long Reads,
    [property: JsonPropertyName("writes")] long Writes,
    [property: JsonPropertyName("flushes")] long Flushes,
    [property: JsonPropertyName("discards")] long Discards,
    [property: JsonPropertyName("errorsReported")] long ErrorsReported,
    [property: JsonPropertyName("badRequests")] long BadRequests,
    [property: JsonPropertyName("readBytes")] long ReadBytes,
    [property: JsonPropertyName("writtenBytes")] long WrittenBytes);
