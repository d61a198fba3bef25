namespace IoVirt.Abi.Blk;

/// <summary>Fixed sizes of the block device protocol, virtio 1.2 §5.2.</summary>
public static class VirtioBlk
{
    /// <summary>Sectors in requests and in the config space are always 512 bytes, whatever blk_size says.</summary>
    public const int SectorSize = 512;

    /// <summary>log2 of <see cref="SectorSize"/>.</summary>
    public const int SectorShift = 9;

    /// <summary>Length of the GET_ID reply: an ASCII string, NUL-padded, unterminated when all 20 bytes are used.</summary>
    public const int IdLength = 20;

    /// <summary>Length of the status trailer the device writes after the data.</summary>
    public const int StatusSize = 1;
}
