namespace IoVirt.Backends.Blk;

/// <summary>One validated discard or write-zeroes range, in bytes of the image.</summary>
public readonly record struct BlkRange(long Offset, long Length, bool Unmap);
