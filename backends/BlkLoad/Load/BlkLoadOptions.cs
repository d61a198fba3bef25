namespace IoVirt.Backends.Blk.Load;

/// <summary>One load run against a vhost-user-blk back end.</summary>
public sealed record BlkLoadOptions
{
    public required string SocketPath { get; init; }

    public BlkPattern Pattern { get; init; } = BlkPattern.RandRead;

    /// <summary>Bytes per request, a multiple of 512.</summary>
    public int BlockSize { get; init; } = 4096;

    /// <summary>Requests kept outstanding on each queue.</summary>
    public int IoDepth { get; init; } = 1;

    /// <summary>Request queues, each driven by a thread of its own over its own part of the device.</summary>
    public int Queues { get; init; } = 1;

    public TimeSpan Runtime { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Measured time starts after this much load (caches and pages settle).</summary>
    public TimeSpan RampTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Spin on the used ring instead of sleeping on the call eventfd.</summary>
    public bool Poll { get; init; }

    /// <summary>Bytes of the device the offsets fall in (0: all of it).</summary>
    public ulong Span { get; init; }

    public bool Packed { get; init; }

    public int Seed { get; init; } = 1;

    /// <summary>
    /// Writes stamp every sector with its number, a generation and the device's serial, and every
    /// read is checked against the last write that completed (<see cref="BlockVerifier"/>); no
    /// two requests address one block at once.
    /// </summary>
    public bool Verify { get; init; }

    /// <summary>Called about once a second with the second just past (ramp included); null: quiet.</summary>
    public Action<BlkProgress>? Progress { get; init; }
}
