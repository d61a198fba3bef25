namespace IoVirt.Memory;

/// <summary>
/// Why a guest address range could not be turned into host memory. Guest-controlled addresses
/// produce these values instead of exceptions, so a device can fail the request or the queue.
/// </summary>
public enum MemoryFault : byte
{
    None = 0,
    /// <summary>Some byte of the range lies outside every region.</summary>
    OutOfRange,
    /// <summary>Address plus length does not fit in 64 bits.</summary>
    Overflow,
    /// <summary>The range is valid but crosses a region boundary where one contiguous block was required.</summary>
    NotContiguous,
}
