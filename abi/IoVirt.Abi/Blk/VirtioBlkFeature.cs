namespace IoVirt.Abi.Blk;

/// <summary>Block device feature bit numbers, virtio 1.2 §5.2.3.</summary>
public static class VirtioBlkFeature
{
    /// <summary>size_max in the config space is valid.</summary>
    public const int SizeMax = 1;

    /// <summary>seg_max in the config space is valid.</summary>
    public const int SegMax = 2;

    /// <summary>The legacy geometry in the config space is valid.</summary>
    public const int Geometry = 4;

    /// <summary>The device is read-only.</summary>
    public const int ReadOnly = 5;

    /// <summary>blk_size in the config space is valid.</summary>
    public const int BlkSize = 6;

    /// <summary>The device supports cache flush (also called WCE in legacy headers).</summary>
    public const int Flush = 9;

    /// <summary>The topology fields in the config space are valid.</summary>
    public const int Topology = 10;

    /// <summary>The driver may toggle the cache mode through writeback in the config space.</summary>
    public const int ConfigWce = 11;

    /// <summary>num_queues in the config space is valid.</summary>
    public const int Mq = 12;

    public const int Discard = 13;

    public const int WriteZeroes = 14;

    /// <summary>The device answers GET_LIFETIME.</summary>
    public const int Lifetime = 15;

    public const int SecureErase = 16;

    /// <summary>The device is a zoned block device (virtio 1.2 §5.2.6.3).</summary>
    public const int Zoned = 17;

    /// <summary>Legacy only: the device supports request barriers.</summary>
    public const int LegacyBarrier = 0;

    /// <summary>Legacy only: the device supports SCSI command passthrough.</summary>
    public const int LegacyScsi = 7;
}
