using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Blk;

/// <summary>
/// Block device configuration space (struct virtio_blk_config, virtio 1.2 §5.2.4). Every field sits at
/// its natural alignment, so this sequential layout equals the packed C struct. Fields behind a
/// feature bit are meaningful only when that feature is offered; the rest of the space still exists.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioBlkConfig
{
    public const int Size = 96;

    /// <summary>Bytes up to and including secure_erase_sector_alignment, the layout before zoned devices.</summary>
    public const int SizeWithoutZoned = 72;

    public const int CapacityOffset = 0;
    public const int SizeMaxOffset = 8;
    public const int SegMaxOffset = 12;
    public const int GeometryOffset = 16;
    public const int BlkSizeOffset = 20;
    public const int TopologyOffset = 24;
    public const int WritebackOffset = 32;
    public const int NumQueuesOffset = 34;
    public const int MaxDiscardSectorsOffset = 36;
    public const int MaxDiscardSegOffset = 40;
    public const int DiscardSectorAlignmentOffset = 44;
    public const int MaxWriteZeroesSectorsOffset = 48;
    public const int MaxWriteZeroesSegOffset = 52;
    public const int WriteZeroesMayUnmapOffset = 56;
    public const int MaxSecureEraseSectorsOffset = 60;
    public const int MaxSecureEraseSegOffset = 64;
    public const int SecureEraseSectorAlignmentOffset = 68;
    public const int ZonedOffset = 72;

    private ulong _capacity;
    private uint _sizeMax;
    private uint _segMax;
    private VirtioBlkGeometry _geometry;
    private uint _blkSize;
    private VirtioBlkTopology _topology;
    private byte _writeback;
    private readonly byte _unused0;
    private ushort _numQueues;
    private uint _maxDiscardSectors;
    private uint _maxDiscardSeg;
    private uint _discardSectorAlignment;
    private uint _maxWriteZeroesSectors;
    private uint _maxWriteZeroesSeg;
    private byte _writeZeroesMayUnmap;
    private readonly FixedBytes3 _unused1;
    private uint _maxSecureEraseSectors;
    private uint _maxSecureEraseSeg;
    private uint _secureEraseSectorAlignment;
    private VirtioBlkZonedCharacteristics _zoned;

    /// <summary>Device size in 512-byte sectors (le64).</summary>
    public ulong Capacity { readonly get => LittleEndian.ToHost(_capacity); set => _capacity = LittleEndian.FromHost(value); }

    /// <summary>Largest single segment in bytes, with SIZE_MAX (le32).</summary>
    public uint SizeMax { readonly get => LittleEndian.ToHost(_sizeMax); set => _sizeMax = LittleEndian.FromHost(value); }

    /// <summary>Most data segments in one request, with SEG_MAX (le32).</summary>
    public uint SegMax { readonly get => LittleEndian.ToHost(_segMax); set => _segMax = LittleEndian.FromHost(value); }

    /// <summary>Legacy CHS geometry, with GEOMETRY.</summary>
    public VirtioBlkGeometry Geometry { readonly get => _geometry; set => _geometry = value; }

    /// <summary>Logical block size in bytes, with BLK_SIZE (le32).</summary>
    public uint BlkSize { readonly get => LittleEndian.ToHost(_blkSize); set => _blkSize = LittleEndian.FromHost(value); }

    /// <summary>Physical layout hints, with TOPOLOGY.</summary>
    public VirtioBlkTopology Topology { readonly get => _topology; set => _topology = value; }

    /// <summary>Cache mode, with CONFIG_WCE: 0 write-through, 1 write-back (u8).</summary>
    public byte Writeback { readonly get => _writeback; set => _writeback = value; }

    /// <summary>Number of request queues, with MQ (le16).</summary>
    public ushort NumQueues { readonly get => LittleEndian.ToHost(_numQueues); set => _numQueues = LittleEndian.FromHost(value); }

    /// <summary>Largest discard range in sectors, with DISCARD (le32).</summary>
    public uint MaxDiscardSectors { readonly get => LittleEndian.ToHost(_maxDiscardSectors); set => _maxDiscardSectors = LittleEndian.FromHost(value); }

    /// <summary>Most ranges in one discard request, with DISCARD (le32).</summary>
    public uint MaxDiscardSeg { readonly get => LittleEndian.ToHost(_maxDiscardSeg); set => _maxDiscardSeg = LittleEndian.FromHost(value); }

    /// <summary>Alignment of discard ranges in sectors, with DISCARD (le32).</summary>
    public uint DiscardSectorAlignment { readonly get => LittleEndian.ToHost(_discardSectorAlignment); set => _discardSectorAlignment = LittleEndian.FromHost(value); }

    /// <summary>Largest write-zeroes range in sectors, with WRITE_ZEROES (le32).</summary>
    public uint MaxWriteZeroesSectors { readonly get => LittleEndian.ToHost(_maxWriteZeroesSectors); set => _maxWriteZeroesSectors = LittleEndian.FromHost(value); }

    /// <summary>Most ranges in one write-zeroes request, with WRITE_ZEROES (le32).</summary>
    public uint MaxWriteZeroesSeg { readonly get => LittleEndian.ToHost(_maxWriteZeroesSeg); set => _maxWriteZeroesSeg = LittleEndian.FromHost(value); }

    /// <summary>1 when a write-zeroes range with UNMAP may be deallocated, with WRITE_ZEROES (u8).</summary>
    public byte WriteZeroesMayUnmap { readonly get => _writeZeroesMayUnmap; set => _writeZeroesMayUnmap = value; }

    /// <summary>Largest secure-erase range in sectors, with SECURE_ERASE (le32).</summary>
    public uint MaxSecureEraseSectors { readonly get => LittleEndian.ToHost(_maxSecureEraseSectors); set => _maxSecureEraseSectors = LittleEndian.FromHost(value); }

    /// <summary>Most ranges in one secure-erase request, with SECURE_ERASE (le32).</summary>
    public uint MaxSecureEraseSeg { readonly get => LittleEndian.ToHost(_maxSecureEraseSeg); set => _maxSecureEraseSeg = LittleEndian.FromHost(value); }

    /// <summary>Alignment of secure-erase ranges in sectors, with SECURE_ERASE (le32).</summary>
    public uint SecureEraseSectorAlignment { readonly get => LittleEndian.ToHost(_secureEraseSectorAlignment); set => _secureEraseSectorAlignment = LittleEndian.FromHost(value); }

    /// <summary>Zoned device characteristics, with ZONED.</summary>
    public VirtioBlkZonedCharacteristics Zoned { readonly get => _zoned; set => _zoned = value; }
}

/// <summary>Legacy geometry inside the block config space (struct virtio_blk_geometry): cylinders le16, heads u8, sectors u8.</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioBlkGeometry
{
    public const int Size = 4;
    public const int CylindersOffset = 0;
    public const int HeadsOffset = 2;
    public const int SectorsOffset = 3;

    private ushort _cylinders;
    private byte _heads;
    private byte _sectors;

    public ushort Cylinders { readonly get => LittleEndian.ToHost(_cylinders); set => _cylinders = LittleEndian.FromHost(value); }

    public byte Heads { readonly get => _heads; set => _heads = value; }

    public byte Sectors { readonly get => _sectors; set => _sectors = value; }
}

/// <summary>
/// Topology hints inside the block config space (struct virtio_blk_topology): physical_block_exp u8,
/// alignment_offset u8, min_io_size le16, opt_io_size le32; sizes count logical blocks.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioBlkTopology
{
    public const int Size = 8;
    public const int PhysicalBlockExpOffset = 0;
    public const int AlignmentOffsetOffset = 1;
    public const int MinIoSizeOffset = 2;
    public const int OptIoSizeOffset = 4;

    private byte _physicalBlockExp;
    private byte _alignmentOffset;
    private ushort _minIoSize;
    private uint _optIoSize;

    /// <summary>log2 of logical blocks per physical block (u8).</summary>
    public byte PhysicalBlockExp { readonly get => _physicalBlockExp; set => _physicalBlockExp = value; }

    /// <summary>Offset of the first aligned logical block (u8).</summary>
    public byte AlignmentOffset { readonly get => _alignmentOffset; set => _alignmentOffset = value; }

    /// <summary>Suggested minimum I/O size (le16).</summary>
    public ushort MinIoSize { readonly get => LittleEndian.ToHost(_minIoSize); set => _minIoSize = LittleEndian.FromHost(value); }

    /// <summary>Optimal sustained I/O size (le32).</summary>
    public uint OptIoSize { readonly get => LittleEndian.ToHost(_optIoSize); set => _optIoSize = LittleEndian.FromHost(value); }
}

/// <summary>Zoned models a device can report, virtio 1.2 §5.2.4.</summary>
public enum VirtioBlkZonedModel : byte
{
    /// <summary>A regular (non-zoned) device.</summary>
    None = 0,
    HostManaged = 1,
    HostAware = 2,
}

/// <summary>
/// Zoned characteristics at the end of the block config space (struct
/// virtio_blk_zoned_characteristics, virtio 1.2 §5.2.4): five le32 limits, model u8, three unused bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioBlkZonedCharacteristics
{
    public const int Size = 24;
    public const int ZoneSectorsOffset = 0;
    public const int MaxOpenZonesOffset = 4;
    public const int MaxActiveZonesOffset = 8;
    public const int MaxAppendSectorsOffset = 12;
    public const int WriteGranularityOffset = 16;
    public const int ModelOffset = 20;

    private uint _zoneSectors;
    private uint _maxOpenZones;
    private uint _maxActiveZones;
    private uint _maxAppendSectors;
    private uint _writeGranularity;
    private byte _model;
    private readonly FixedBytes3 _unused2;

    /// <summary>Zone size in sectors (le32).</summary>
    public uint ZoneSectors { readonly get => LittleEndian.ToHost(_zoneSectors); set => _zoneSectors = LittleEndian.FromHost(value); }

    public uint MaxOpenZones { readonly get => LittleEndian.ToHost(_maxOpenZones); set => _maxOpenZones = LittleEndian.FromHost(value); }

    public uint MaxActiveZones { readonly get => LittleEndian.ToHost(_maxActiveZones); set => _maxActiveZones = LittleEndian.FromHost(value); }

    /// <summary>Largest ZONE_APPEND in sectors (le32).</summary>
    public uint MaxAppendSectors { readonly get => LittleEndian.ToHost(_maxAppendSectors); set => _maxAppendSectors = LittleEndian.FromHost(value); }

    /// <summary>Write alignment and size granularity in bytes (le32).</summary>
    public uint WriteGranularity { readonly get => LittleEndian.ToHost(_writeGranularity); set => _writeGranularity = LittleEndian.FromHost(value); }

    public VirtioBlkZonedModel Model { readonly get => (VirtioBlkZonedModel)_model; set => _model = (byte)value; }
}
