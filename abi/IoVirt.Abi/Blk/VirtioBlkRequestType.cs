namespace IoVirt.Abi.Blk;

/// <summary>The type field of a block request header, virtio 1.2 §5.2.6.</summary>
public enum VirtioBlkRequestType : uint
{
    /// <summary>Read from the device.</summary>
    In = 0,
    /// <summary>Write to the device.</summary>
    Out = 1,
    Flush = 4,
    /// <summary>Read the device ID string (<see cref="VirtioBlk.IdLength"/> bytes).</summary>
    GetId = 8,
    /// <summary>Read a <see cref="VirtioBlkLifetime"/>.</summary>
    GetLifetime = 10,
    Discard = 11,
    WriteZeroes = 13,
    SecureErase = 14,
    ZoneAppend = 15,
    ZoneReport = 16,
    ZoneOpen = 18,
    ZoneClose = 20,
    ZoneFinish = 22,
    ZoneReset = 24,
    ZoneResetAll = 26,
}
