namespace IoVirt.Backends.Blk;

/// <summary>What a request is checked against: the device's size and advertised limits, and the negotiated features.</summary>
public readonly record struct BlkLimits(
    ulong CapacitySectors,
    bool ReadOnly,
    uint SegMax,
    uint SizeMax,
    uint MaxDiscardSectors,
    uint MaxDiscardSeg,
    uint MaxWriteZeroesSectors,
    uint MaxWriteZeroesSeg,
    bool Flush,
    bool Discard,
    bool WriteZeroes)
{
    /// <summary>Most discard or write-zeroes ranges any request may carry, whatever was negotiated.</summary>
    public int MaxRanges => (int)Math.Max(MaxDiscardSeg, MaxWriteZeroesSeg);
}
