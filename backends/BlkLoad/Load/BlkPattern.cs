namespace IoVirt.Backends.Blk.Load;

/// <summary>The access pattern of a load run (fio's --rw names).</summary>
public enum BlkPattern
{
    RandRead,
    RandWrite,
    Read,
    Write,

    /// <summary>Random reads and writes, half each.</summary>
    RandRW,
}
