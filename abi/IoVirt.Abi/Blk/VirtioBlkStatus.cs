namespace IoVirt.Abi.Blk;

/// <summary>The status byte the device writes at the end of a block request, virtio 1.2 §5.2.6.</summary>
public enum VirtioBlkStatus : byte
{
    Ok = 0,
    IoError = 1,
    Unsupported = 2,
    /// <summary>Zoned devices: the command is not valid for the zone or device state.</summary>
    ZoneInvalidCommand = 3,
    /// <summary>Zoned devices: the write does not start at the zone's write pointer.</summary>
    ZoneUnalignedWritePointer = 4,
    /// <summary>Zoned devices: opening the zone would exceed max_open_zones.</summary>
    ZoneOpenResource = 5,
    /// <summary>Zoned devices: activating the zone would exceed max_active_zones.</summary>
    ZoneActiveResource = 6,
}
