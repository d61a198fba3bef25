namespace IoVirt.Backends.Blk;

/// <summary>What the device does with a parsed request.</summary>
public enum BlkVerdict
{
    /// <summary>Valid: carry it out on the image.</summary>
    Execute,

    /// <summary>Finished without the image: write <see cref="BlkRequest.Status"/> (an error, or GET_ID's OK) and complete.</summary>
    Complete,

    /// <summary>No writable status byte: complete with nothing written, the image untouched.</summary>
    NoStatus,

    /// <summary>The chain itself is broken: the queue has faulted and the request is dropped.</summary>
    BrokenChain,
}
