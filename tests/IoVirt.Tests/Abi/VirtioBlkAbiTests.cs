using IoVirt.Abi.Blk;

namespace IoVirt.Tests.Abi;

/// <summary>Block device layouts and constants (IoVirt.Abi.Blk), virtio 1.2 §5.2.</summary>
[Collection(CHeaderCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class VirtioBlkAbiTests(CHeaderProbe probe)
{
    [Fact]
    public void Request_header_is_16_bytes_with_type_reserved_and_sector() =>
        AbiAssert.Layout<VirtioBlkReqHeader>(16, ("_type", 0), ("_reserved", 4), ("_sector", 8));

    [Fact]
    public void Request_header_accessors_store_little_endian()
    {
        AbiAssert.LittleEndianField<VirtioBlkReqHeader>("Type", 0, 4, (ref h, v) => h.Type = (VirtioBlkRequestType)v, h => (ulong)h.Type);
        AbiAssert.LittleEndianField<VirtioBlkReqHeader>("Reserved", 4, 4, (ref h, v) => h.Reserved = (uint)v, h => h.Reserved);
        AbiAssert.LittleEndianField<VirtioBlkReqHeader>("Sector", 8, 8, (ref h, v) => h.Sector = v, h => h.Sector);
    }

    [Fact]
    public void Discard_write_zeroes_segment_is_16_bytes_with_flags_last() =>
        AbiAssert.Layout<VirtioBlkDiscardWriteZeroes>(16, ("_sector", 0), ("_numSectors", 8), ("_flags", 12));

    [Fact]
    public void Discard_write_zeroes_segment_accessors_store_little_endian()
    {
        AbiAssert.LittleEndianField<VirtioBlkDiscardWriteZeroes>("Sector", 0, 8, (ref s, v) => s.Sector = v, s => s.Sector);
        AbiAssert.LittleEndianField<VirtioBlkDiscardWriteZeroes>("NumSectors", 8, 4, (ref s, v) => s.NumSectors = (uint)v, s => s.NumSectors);
        AbiAssert.LittleEndianField<VirtioBlkDiscardWriteZeroes>("Flags", 12, 4, (ref s, v) => s.Flags = (VirtioBlkDiscardWriteZeroesFlags)v, s => (ulong)s.Flags);
    }

    [Fact]
    public void Lifetime_reply_is_three_le16_counters()
    {
        AbiAssert.Layout<VirtioBlkLifetime>(6, ("_preEolInfo", 0), ("_deviceLifetimeEstTypA", 2), ("_deviceLifetimeEstTypB", 4));
        AbiAssert.LittleEndianField<VirtioBlkLifetime>("PreEolInfo", 0, 2, (ref l, v) => l.PreEolInfo = (ushort)v, l => l.PreEolInfo);
        AbiAssert.LittleEndianField<VirtioBlkLifetime>("DeviceLifetimeEstTypA", 2, 2, (ref l, v) => l.DeviceLifetimeEstTypA = (ushort)v, l => l.DeviceLifetimeEstTypA);
        AbiAssert.LittleEndianField<VirtioBlkLifetime>("DeviceLifetimeEstTypB", 4, 2, (ref l, v) => l.DeviceLifetimeEstTypB = (ushort)v, l => l.DeviceLifetimeEstTypB);
        Assert.Equal([0, 1, 2, 3], new[] { VirtioBlkLifetime.PreEolUndefined, VirtioBlkLifetime.PreEolNormal, VirtioBlkLifetime.PreEolWarning, VirtioBlkLifetime.PreEolUrgent }.Select(v => (int)v));
    }

    [Fact]
    public void Config_space_is_96_bytes_with_every_field_at_its_spec_offset()
    {
        AbiAssert.Layout<VirtioBlkConfig>(
            96,
            ("_capacity", 0),
            ("_sizeMax", 8),
            ("_segMax", 12),
            ("_geometry", 16),
            ("_blkSize", 20),
            ("_topology", 24),
            ("_writeback", 32),
            ("_unused0", 33),
            ("_numQueues", 34),
            ("_maxDiscardSectors", 36),
            ("_maxDiscardSeg", 40),
            ("_discardSectorAlignment", 44),
            ("_maxWriteZeroesSectors", 48),
            ("_maxWriteZeroesSeg", 52),
            ("_writeZeroesMayUnmap", 56),
            ("_unused1", 57),
            ("_maxSecureEraseSectors", 60),
            ("_maxSecureEraseSeg", 64),
            ("_secureEraseSectorAlignment", 68),
            ("_zoned", 72));
        Assert.Equal(72, VirtioBlkConfig.SizeWithoutZoned);
        AbiAssert.Layout<VirtioBlkGeometry>(4, ("_cylinders", 0), ("_heads", 2), ("_sectors", 3));
        AbiAssert.Layout<VirtioBlkTopology>(8, ("_physicalBlockExp", 0), ("_alignmentOffset", 1), ("_minIoSize", 2), ("_optIoSize", 4));
        AbiAssert.Layout<VirtioBlkZonedCharacteristics>(
            24,
            ("_zoneSectors", 0),
            ("_maxOpenZones", 4),
            ("_maxActiveZones", 8),
            ("_maxAppendSectors", 12),
            ("_writeGranularity", 16),
            ("_model", 20),
            ("_unused2", 21));
    }

    [Fact]
    public void Config_space_accessors_store_little_endian()
    {
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Capacity", 0, 8, (ref c, v) => c.Capacity = v, c => c.Capacity);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("SizeMax", 8, 4, (ref c, v) => c.SizeMax = (uint)v, c => c.SizeMax);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("SegMax", 12, 4, (ref c, v) => c.SegMax = (uint)v, c => c.SegMax);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Geometry.Cylinders", 16, 2, (ref c, v) => c.Geometry = new VirtioBlkGeometry { Cylinders = (ushort)v }, c => c.Geometry.Cylinders);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Geometry.Heads", 18, 1, (ref c, v) => c.Geometry = new VirtioBlkGeometry { Heads = (byte)v }, c => c.Geometry.Heads);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Geometry.Sectors", 19, 1, (ref c, v) => c.Geometry = new VirtioBlkGeometry { Sectors = (byte)v }, c => c.Geometry.Sectors);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("BlkSize", 20, 4, (ref c, v) => c.BlkSize = (uint)v, c => c.BlkSize);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Topology.PhysicalBlockExp", 24, 1, (ref c, v) => c.Topology = new VirtioBlkTopology { PhysicalBlockExp = (byte)v }, c => c.Topology.PhysicalBlockExp);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Topology.AlignmentOffset", 25, 1, (ref c, v) => c.Topology = new VirtioBlkTopology { AlignmentOffset = (byte)v }, c => c.Topology.AlignmentOffset);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Topology.MinIoSize", 26, 2, (ref c, v) => c.Topology = new VirtioBlkTopology { MinIoSize = (ushort)v }, c => c.Topology.MinIoSize);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Topology.OptIoSize", 28, 4, (ref c, v) => c.Topology = new VirtioBlkTopology { OptIoSize = (uint)v }, c => c.Topology.OptIoSize);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Writeback", 32, 1, (ref c, v) => c.Writeback = (byte)v, c => c.Writeback);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("NumQueues", 34, 2, (ref c, v) => c.NumQueues = (ushort)v, c => c.NumQueues);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("MaxDiscardSectors", 36, 4, (ref c, v) => c.MaxDiscardSectors = (uint)v, c => c.MaxDiscardSectors);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("MaxDiscardSeg", 40, 4, (ref c, v) => c.MaxDiscardSeg = (uint)v, c => c.MaxDiscardSeg);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("DiscardSectorAlignment", 44, 4, (ref c, v) => c.DiscardSectorAlignment = (uint)v, c => c.DiscardSectorAlignment);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("MaxWriteZeroesSectors", 48, 4, (ref c, v) => c.MaxWriteZeroesSectors = (uint)v, c => c.MaxWriteZeroesSectors);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("MaxWriteZeroesSeg", 52, 4, (ref c, v) => c.MaxWriteZeroesSeg = (uint)v, c => c.MaxWriteZeroesSeg);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("WriteZeroesMayUnmap", 56, 1, (ref c, v) => c.WriteZeroesMayUnmap = (byte)v, c => c.WriteZeroesMayUnmap);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("MaxSecureEraseSectors", 60, 4, (ref c, v) => c.MaxSecureEraseSectors = (uint)v, c => c.MaxSecureEraseSectors);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("MaxSecureEraseSeg", 64, 4, (ref c, v) => c.MaxSecureEraseSeg = (uint)v, c => c.MaxSecureEraseSeg);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("SecureEraseSectorAlignment", 68, 4, (ref c, v) => c.SecureEraseSectorAlignment = (uint)v, c => c.SecureEraseSectorAlignment);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Zoned.ZoneSectors", 72, 4, (ref c, v) => c.Zoned = new VirtioBlkZonedCharacteristics { ZoneSectors = (uint)v }, c => c.Zoned.ZoneSectors);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Zoned.MaxOpenZones", 76, 4, (ref c, v) => c.Zoned = new VirtioBlkZonedCharacteristics { MaxOpenZones = (uint)v }, c => c.Zoned.MaxOpenZones);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Zoned.MaxActiveZones", 80, 4, (ref c, v) => c.Zoned = new VirtioBlkZonedCharacteristics { MaxActiveZones = (uint)v }, c => c.Zoned.MaxActiveZones);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Zoned.MaxAppendSectors", 84, 4, (ref c, v) => c.Zoned = new VirtioBlkZonedCharacteristics { MaxAppendSectors = (uint)v }, c => c.Zoned.MaxAppendSectors);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Zoned.WriteGranularity", 88, 4, (ref c, v) => c.Zoned = new VirtioBlkZonedCharacteristics { WriteGranularity = (uint)v }, c => c.Zoned.WriteGranularity);
        AbiAssert.LittleEndianField<VirtioBlkConfig>("Zoned.Model", 92, 1, (ref c, v) => c.Zoned = new VirtioBlkZonedCharacteristics { Model = (VirtioBlkZonedModel)v }, c => (ulong)c.Zoned.Model);
    }

    [Fact]
    public void Request_structs_match_linux_virtio_blk_h()
    {
        CHeaderAssert.Struct(probe, "virtio_blk_outhdr", VirtioBlkReqHeader.Size, ("type", VirtioBlkReqHeader.TypeOffset), ("ioprio", VirtioBlkReqHeader.ReservedOffset), ("sector", VirtioBlkReqHeader.SectorOffset));
        CHeaderAssert.Struct(
            probe,
            "virtio_blk_discard_write_zeroes",
            VirtioBlkDiscardWriteZeroes.Size,
            ("sector", VirtioBlkDiscardWriteZeroes.SectorOffset),
            ("num_sectors", VirtioBlkDiscardWriteZeroes.NumSectorsOffset),
            ("flags", VirtioBlkDiscardWriteZeroes.FlagsOffset));
    }

    [Fact]
    public void Config_space_matches_linux_virtio_blk_h_with_or_without_zoned_fields()
    {
        // Headers from before Linux 6.3 end the struct at secure_erase_sector_alignment.
        var hasZoned = probe.TryGetValue("VIRTIO_BLK_F_ZONED", out _);
        CHeaderAssert.Struct(
            probe,
            "virtio_blk_config",
            hasZoned ? VirtioBlkConfig.Size : VirtioBlkConfig.SizeWithoutZoned,
            ("capacity", VirtioBlkConfig.CapacityOffset),
            ("size_max", VirtioBlkConfig.SizeMaxOffset),
            ("seg_max", VirtioBlkConfig.SegMaxOffset),
            ("geometry", VirtioBlkConfig.GeometryOffset),
            ("geometry.cylinders", VirtioBlkConfig.GeometryOffset + VirtioBlkGeometry.CylindersOffset),
            ("geometry.heads", VirtioBlkConfig.GeometryOffset + VirtioBlkGeometry.HeadsOffset),
            ("geometry.sectors", VirtioBlkConfig.GeometryOffset + VirtioBlkGeometry.SectorsOffset),
            ("blk_size", VirtioBlkConfig.BlkSizeOffset),
            ("physical_block_exp", VirtioBlkConfig.TopologyOffset + VirtioBlkTopology.PhysicalBlockExpOffset),
            ("alignment_offset", VirtioBlkConfig.TopologyOffset + VirtioBlkTopology.AlignmentOffsetOffset),
            ("min_io_size", VirtioBlkConfig.TopologyOffset + VirtioBlkTopology.MinIoSizeOffset),
            ("opt_io_size", VirtioBlkConfig.TopologyOffset + VirtioBlkTopology.OptIoSizeOffset),
            ("wce", VirtioBlkConfig.WritebackOffset),
            ("unused", AbiAssert.OffsetOf<VirtioBlkConfig>("_unused0")),
            ("num_queues", VirtioBlkConfig.NumQueuesOffset),
            ("max_discard_sectors", VirtioBlkConfig.MaxDiscardSectorsOffset),
            ("max_discard_seg", VirtioBlkConfig.MaxDiscardSegOffset),
            ("discard_sector_alignment", VirtioBlkConfig.DiscardSectorAlignmentOffset),
            ("max_write_zeroes_sectors", VirtioBlkConfig.MaxWriteZeroesSectorsOffset),
            ("max_write_zeroes_seg", VirtioBlkConfig.MaxWriteZeroesSegOffset),
            ("write_zeroes_may_unmap", VirtioBlkConfig.WriteZeroesMayUnmapOffset),
            ("unused1", AbiAssert.OffsetOf<VirtioBlkConfig>("_unused1")),
            ("max_secure_erase_sectors", VirtioBlkConfig.MaxSecureEraseSectorsOffset),
            ("max_secure_erase_seg", VirtioBlkConfig.MaxSecureEraseSegOffset),
            ("secure_erase_sector_alignment", VirtioBlkConfig.SecureEraseSectorAlignmentOffset));
        if (hasZoned)
        {
            Assert.Equal((ulong)VirtioBlkConfig.ZonedOffset, probe.Value("offsetof:virtio_blk_config.zoned"));
            CHeaderAssert.Struct(
                probe,
                "virtio_blk_zoned_characteristics",
                VirtioBlkZonedCharacteristics.Size,
                ("zone_sectors", VirtioBlkZonedCharacteristics.ZoneSectorsOffset),
                ("max_open_zones", VirtioBlkZonedCharacteristics.MaxOpenZonesOffset),
                ("max_active_zones", VirtioBlkZonedCharacteristics.MaxActiveZonesOffset),
                ("max_append_sectors", VirtioBlkZonedCharacteristics.MaxAppendSectorsOffset),
                ("write_granularity", VirtioBlkZonedCharacteristics.WriteGranularityOffset),
                ("model", VirtioBlkZonedCharacteristics.ModelOffset),
                ("unused2", AbiAssert.OffsetOf<VirtioBlkZonedCharacteristics>("_unused2")));
        }
    }

    public static TheoryData<string, ulong, ulong, bool> BlockConstants => new()
    {
        { "VIRTIO_BLK_F_SIZE_MAX", VirtioBlkFeature.SizeMax, 1, false },
        { "VIRTIO_BLK_F_SEG_MAX", VirtioBlkFeature.SegMax, 2, false },
        { "VIRTIO_BLK_F_GEOMETRY", VirtioBlkFeature.Geometry, 4, false },
        { "VIRTIO_BLK_F_RO", VirtioBlkFeature.ReadOnly, 5, false },
        { "VIRTIO_BLK_F_BLK_SIZE", VirtioBlkFeature.BlkSize, 6, false },
        { "VIRTIO_BLK_F_FLUSH", VirtioBlkFeature.Flush, 9, false },
        { "VIRTIO_BLK_F_TOPOLOGY", VirtioBlkFeature.Topology, 10, false },
        { "VIRTIO_BLK_F_CONFIG_WCE", VirtioBlkFeature.ConfigWce, 11, false },
        { "VIRTIO_BLK_F_MQ", VirtioBlkFeature.Mq, 12, false },
        { "VIRTIO_BLK_F_DISCARD", VirtioBlkFeature.Discard, 13, false },
        { "VIRTIO_BLK_F_WRITE_ZEROES", VirtioBlkFeature.WriteZeroes, 14, false },
        { "VIRTIO_BLK_F_LIFETIME", VirtioBlkFeature.Lifetime, 15, true },
        { "VIRTIO_BLK_F_SECURE_ERASE", VirtioBlkFeature.SecureErase, 16, false },
        { "VIRTIO_BLK_F_ZONED", VirtioBlkFeature.Zoned, 17, true },
        { "VIRTIO_BLK_F_BARRIER", VirtioBlkFeature.LegacyBarrier, 0, false },
        { "VIRTIO_BLK_F_SCSI", VirtioBlkFeature.LegacyScsi, 7, false },
        { "VIRTIO_BLK_T_IN", (ulong)VirtioBlkRequestType.In, 0, false },
        { "VIRTIO_BLK_T_OUT", (ulong)VirtioBlkRequestType.Out, 1, false },
        { "VIRTIO_BLK_T_FLUSH", (ulong)VirtioBlkRequestType.Flush, 4, false },
        { "VIRTIO_BLK_T_GET_ID", (ulong)VirtioBlkRequestType.GetId, 8, false },
        { "VIRTIO_BLK_T_GET_LIFETIME", (ulong)VirtioBlkRequestType.GetLifetime, 10, true },
        { "VIRTIO_BLK_T_DISCARD", (ulong)VirtioBlkRequestType.Discard, 11, false },
        { "VIRTIO_BLK_T_WRITE_ZEROES", (ulong)VirtioBlkRequestType.WriteZeroes, 13, false },
        { "VIRTIO_BLK_T_SECURE_ERASE", (ulong)VirtioBlkRequestType.SecureErase, 14, false },
        { "VIRTIO_BLK_T_ZONE_APPEND", (ulong)VirtioBlkRequestType.ZoneAppend, 15, true },
        { "VIRTIO_BLK_T_ZONE_REPORT", (ulong)VirtioBlkRequestType.ZoneReport, 16, true },
        { "VIRTIO_BLK_T_ZONE_OPEN", (ulong)VirtioBlkRequestType.ZoneOpen, 18, true },
        { "VIRTIO_BLK_T_ZONE_CLOSE", (ulong)VirtioBlkRequestType.ZoneClose, 20, true },
        { "VIRTIO_BLK_T_ZONE_FINISH", (ulong)VirtioBlkRequestType.ZoneFinish, 22, true },
        { "VIRTIO_BLK_T_ZONE_RESET", (ulong)VirtioBlkRequestType.ZoneReset, 24, true },
        { "VIRTIO_BLK_T_ZONE_RESET_ALL", (ulong)VirtioBlkRequestType.ZoneResetAll, 26, true },
        { "VIRTIO_BLK_S_OK", (ulong)VirtioBlkStatus.Ok, 0, false },
        { "VIRTIO_BLK_S_IOERR", (ulong)VirtioBlkStatus.IoError, 1, false },
        { "VIRTIO_BLK_S_UNSUPP", (ulong)VirtioBlkStatus.Unsupported, 2, false },
        { "VIRTIO_BLK_S_ZONE_INVALID_CMD", (ulong)VirtioBlkStatus.ZoneInvalidCommand, 3, true },
        { "VIRTIO_BLK_S_ZONE_UNALIGNED_WP", (ulong)VirtioBlkStatus.ZoneUnalignedWritePointer, 4, true },
        { "VIRTIO_BLK_S_ZONE_OPEN_RESOURCE", (ulong)VirtioBlkStatus.ZoneOpenResource, 5, true },
        { "VIRTIO_BLK_S_ZONE_ACTIVE_RESOURCE", (ulong)VirtioBlkStatus.ZoneActiveResource, 6, true },
        { "VIRTIO_BLK_Z_NONE", (ulong)VirtioBlkZonedModel.None, 0, true },
        { "VIRTIO_BLK_Z_HM", (ulong)VirtioBlkZonedModel.HostManaged, 1, true },
        { "VIRTIO_BLK_Z_HA", (ulong)VirtioBlkZonedModel.HostAware, 2, true },
        { "VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP", (ulong)VirtioBlkDiscardWriteZeroesFlags.Unmap, 1, false },
        { "VIRTIO_BLK_ID_BYTES", VirtioBlk.IdLength, 20, false },
    };

    [Theory]
    [MemberData(nameof(BlockConstants))]
    public void Feature_bits_request_types_and_statuses_match_the_spec_and_linux_virtio_blk_h(string cName, ulong ours, ulong spec, bool newerThanLinux61) =>
        CHeaderAssert.Constant(probe, cName, ours, spec, newerThanLinux61);

    [Fact]
    public void Sectors_are_512_bytes_and_the_status_trailer_is_one_byte()
    {
        Assert.Equal(512, VirtioBlk.SectorSize);
        Assert.Equal(VirtioBlk.SectorSize, 1 << VirtioBlk.SectorShift);
        Assert.Equal(1, VirtioBlk.StatusSize);
    }

    [Fact]
    public void Every_request_type_and_status_is_cross_checked()
    {
        bool IsListed(string prefix, ulong value) =>
            BlockConstants.Any(row => ((string)row[0]).StartsWith(prefix, StringComparison.Ordinal) && (ulong)row[1] == value);

        Assert.DoesNotContain(Enum.GetValues<VirtioBlkRequestType>(), t => !IsListed("VIRTIO_BLK_T_", (ulong)t));
        Assert.DoesNotContain(Enum.GetValues<VirtioBlkStatus>(), s => !IsListed("VIRTIO_BLK_S_", (ulong)s));
    }
}
