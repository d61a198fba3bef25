using IoVirt.Abi.Blk;

namespace IoVirt.Backends.Blk;

/// <summary>
/// A block request as the parser found it: its type and position, where its status byte is,
/// and how many data segments and ranges it wrote into the caller's spans.
/// </summary>
public struct BlkRequest
{
    public BlkVerdict Verdict;

    /// <summary>With <see cref="BlkVerdict.Complete"/>, the status to write.</summary>
    public VirtioBlkStatus Status;

    public VirtioBlkRequestType Type;

    /// <summary>Byte offset of IN/OUT data in the image (sector × 512).</summary>
    public long Offset;

    /// <summary>Guest address of the status byte, the last device-writable byte of the chain.</summary>
    public ulong StatusAddress;

    /// <summary>Device-writable bytes of the whole chain: the used length reported on completion.</summary>
    public uint WritableBytes;

    /// <summary>Data segments (IN, OUT, GET_ID), status byte excluded.</summary>
    public int SegmentCount;

    /// <summary>Bytes across the data segments.</summary>
    public uint DataLength;

    /// <summary>Discard or write-zeroes ranges.</summary>
    public int RangeCount;
}
