namespace IoVirt.Backends.Blk;

/// <summary>
/// The image a block device serves, wherever it lives: a local file, block device or RAM disk
/// (<see cref="BlockStore"/>), or a volume of a distributed store (<see cref="Rbd.RbdImage"/>).
/// Each queue reaches it through an engine of its own.
/// </summary>
public interface IBlockImage : IDisposable
{
    /// <summary>What the image is called in logs and errors.</summary>
    string Name { get; }

    /// <summary>Bytes; the device exposes whole 512-byte sectors of it.</summary>
    ulong Size { get; }

    bool ReadOnly { get; }

    uint LogicalBlockSize { get; }

    uint PhysicalBlockSize { get; }

    /// <summary>
    /// The <see cref="IBlockEngine.Allocate"/> mode that makes a range read as zeros: a hole
    /// punched when <paramref name="unmap"/> allows it, or where a hole is the only zeroed state.
    /// </summary>
    int ZeroingMode(bool unmap);

    /// <summary>The engine <paramref name="requested"/> means for this image (Auto resolved); throws ArgumentException for one that cannot serve it.</summary>
    BlockEngineKind ResolveEngine(BlockEngineKind requested);

    /// <summary>
    /// Creates one queue's engine of <paramref name="kind"/>, able to hold <paramref name="depth"/>
    /// operations in flight; for io_uring, with a kernel thread on <paramref name="submissionPollCpu"/>
    /// taking its submissions (null: none).
    /// </summary>
    IBlockEngine CreateEngine(BlockEngineKind kind, int depth, int? submissionPollCpu, bool fixedBuffers = false);
}
