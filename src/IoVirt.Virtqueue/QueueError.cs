namespace IoVirt.Virtqueue;

/// <summary>
/// What was wrong with guest-controlled queue state. The queue stops at the first error and keeps
/// it in <see cref="DeviceQueue.Fault"/>, so the device can set DEVICE_NEEDS_RESET; nothing
/// guest-controlled ever throws or touches host memory outside the guest's regions.
/// </summary>
public enum QueueError : byte
{
    None = 0,
    /// <summary>Queue size zero, above 32768, or (split) not a power of two.</summary>
    InvalidQueueSize,
    /// <summary>A ring part is not aligned as the spec requires.</summary>
    RingMisaligned,
    /// <summary>A ring part is not inside one guest memory region.</summary>
    RingOutsideMemory,
    /// <summary>The driver moved the split available index more than the queue size ahead of the device.</summary>
    AvailIndexJump,
    /// <summary>A descriptor index at or beyond the queue (or indirect table) size.</summary>
    DescriptorIndexOutOfRange,
    /// <summary>A chain longer than its table: a loop or an overlong chain.</summary>
    ChainTooLong,
    /// <summary>Packed: a published chain continues (NEXT) into a slot the driver never made available.</summary>
    ChainIncomplete,
    /// <summary>An INDIRECT descriptor inside an indirect table.</summary>
    NestedIndirect,
    /// <summary>An INDIRECT descriptor although RING_INDIRECT_DESC was not negotiated.</summary>
    IndirectNotNegotiated,
    /// <summary>An INDIRECT descriptor that also has NEXT set (or, packed, is not alone in its chain).</summary>
    IndirectWithNext,
    /// <summary>An indirect table whose length is not a multiple of 16.</summary>
    IndirectTableMisSized,
    /// <summary>An indirect table of length zero.</summary>
    IndirectTableEmpty,
    /// <summary>An indirect table of more than 65536 entries.</summary>
    IndirectTableTooLarge,
    /// <summary>An indirect table that is not inside one guest memory region.</summary>
    IndirectTableOutsideMemory,
    /// <summary>A device-readable descriptor after a device-writable one.</summary>
    ReadableAfterWritable,
    /// <summary>The chain's buffers add up to more than 2^32 - 1 bytes.</summary>
    TotalLengthOverflow,
    /// <summary>A buffer that is not entirely guest memory.</summary>
    BufferOutsideMemory,
    /// <summary>Driver side: the device returned an id that names no outstanding buffer.</summary>
    UsedIdInvalid,
    /// <summary>Driver side: the device moved the used index past the buffers outstanding.</summary>
    UsedIndexJump,

    /// <summary>
    /// Packed, with inflight tracking: the driver made available more descriptors than the ring
    /// holds while the device still held them (it reused slots no used element gave back).
    /// </summary>
    OutstandingExceedsRing,
}
