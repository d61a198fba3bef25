using System.Numerics;
using System.Runtime.InteropServices;
using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;

namespace IoVirt.Tests.Abi;

/// <summary>
/// vhost-user message layouts and constants (IoVirt.Abi.VhostUser), QEMU docs/interop/vhost-user.rst.
/// Only the structs Linux shares with vhost (vhost_types.h) have a kernel header to compare with; the
/// rest are compared with the spec's layouts as declared in abi_probe.c and with the spec's numbers.
/// </summary>
[Collection(CHeaderCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class VhostUserAbiTests(CHeaderProbe probe)
{
    [Fact]
    public void Message_header_is_request_flags_and_size_as_native_u32s()
    {
        AbiAssert.Layout<VhostUserHeader>(12, ("_request", 0), ("_flags", 4), ("_payloadSize", 8));
        AbiAssert.NativeEndianField<VhostUserHeader>("Request", 0, 4, (ref h, v) => h.Request = (uint)v, h => h.Request);
        AbiAssert.NativeEndianField<VhostUserHeader>("Flags", 4, 4, (ref h, v) => h.Flags = (VhostUserHeaderFlags)v, h => (ulong)h.Flags);
        AbiAssert.NativeEndianField<VhostUserHeader>("PayloadSize", 8, 4, (ref h, v) => h.PayloadSize = (uint)v, h => h.PayloadSize);
    }

    [Fact]
    public void Header_flags_hold_version_1_in_the_low_two_bits_then_reply_and_need_reply()
    {
        Assert.Equal(0x3u, (uint)VhostUserHeaderFlags.VersionMask);
        Assert.Equal(1u, (uint)VhostUserHeaderFlags.Version1);
        Assert.Equal(1u << 2, (uint)VhostUserHeaderFlags.Reply);
        Assert.Equal(1u << 3, (uint)VhostUserHeaderFlags.NeedReply);
        Assert.Equal(VhostUserHeaderFlags.None, VhostUserHeaderFlags.Version1 & (VhostUserHeaderFlags.Reply | VhostUserHeaderFlags.NeedReply));
    }

    [Fact]
    public void Max_payload_size_holds_every_payload_the_spec_defines()
    {
        var fullMemoryTable = VhostUserMemoryHeader.Size + (VhostUserMemoryHeader.MaxRegions * VhostUserMemoryRegion.Size);
        var fullConfig = VhostUserConfigHeader.Size + VhostUserConfigHeader.MaxConfigSize;
        Assert.Equal(264, fullMemoryTable);
        Assert.Equal(268, fullConfig);
        Assert.InRange(fullMemoryTable, 0, VhostUserHeader.MaxPayloadSize);
        Assert.InRange(fullConfig, 0, VhostUserHeader.MaxPayloadSize);
        Assert.Equal(8, VhostUserHeader.MaxFds);
    }

    [Fact]
    public void Vring_state_is_index_then_num()
    {
        AbiAssert.Layout<VhostUserVringState>(8, ("_index", 0), ("_num", 4));
        AbiAssert.NativeEndianField<VhostUserVringState>("Index", 0, 4, (ref s, v) => s.Index = (uint)v, s => s.Index);
        AbiAssert.NativeEndianField<VhostUserVringState>("Num", 4, 4, (ref s, v) => s.Num = (uint)v, s => s.Num);
    }

    [Fact]
    public void Vring_address_is_40_bytes_without_a_size_field()
    {
        AbiAssert.Layout<VhostUserVringAddr>(
            40,
            ("_index", 0),
            ("_flags", 4),
            ("_descUserAddr", 8),
            ("_usedUserAddr", 16),
            ("_availUserAddr", 24),
            ("_logGuestAddr", 32));
        AbiAssert.NativeEndianField<VhostUserVringAddr>("Index", 0, 4, (ref a, v) => a.Index = (uint)v, a => a.Index);
        AbiAssert.NativeEndianField<VhostUserVringAddr>("Flags", 4, 4, (ref a, v) => a.Flags = (VhostUserVringAddrFlags)v, a => (ulong)a.Flags);
        AbiAssert.NativeEndianField<VhostUserVringAddr>("DescUserAddr", 8, 8, (ref a, v) => a.DescUserAddr = v, a => a.DescUserAddr);
        AbiAssert.NativeEndianField<VhostUserVringAddr>("UsedUserAddr", 16, 8, (ref a, v) => a.UsedUserAddr = v, a => a.UsedUserAddr);
        AbiAssert.NativeEndianField<VhostUserVringAddr>("AvailUserAddr", 24, 8, (ref a, v) => a.AvailUserAddr = v, a => a.AvailUserAddr);
        AbiAssert.NativeEndianField<VhostUserVringAddr>("LogGuestAddr", 32, 8, (ref a, v) => a.LogGuestAddr = v, a => a.LogGuestAddr);
    }

    [Fact]
    public void Memory_table_is_an_8_byte_head_and_32_byte_regions()
    {
        AbiAssert.Layout<VhostUserMemoryHeader>(8, ("_nRegions", 0), ("_padding", 4));
        Assert.Equal(8, VhostUserMemoryHeader.RegionsOffset);
        Assert.Equal(8, VhostUserMemoryHeader.MaxRegions);
        AbiAssert.NativeEndianField<VhostUserMemoryHeader>("NRegions", 0, 4, (ref h, v) => h.NRegions = (uint)v, h => h.NRegions);

        AbiAssert.Layout<VhostUserMemoryRegion>(32, ("_guestPhysAddr", 0), ("_memorySize", 8), ("_userspaceAddr", 16), ("_mmapOffset", 24));
        AbiAssert.NativeEndianField<VhostUserMemoryRegion>("GuestPhysAddr", 0, 8, (ref r, v) => r.GuestPhysAddr = v, r => r.GuestPhysAddr);
        AbiAssert.NativeEndianField<VhostUserMemoryRegion>("MemorySize", 8, 8, (ref r, v) => r.MemorySize = v, r => r.MemorySize);
        AbiAssert.NativeEndianField<VhostUserMemoryRegion>("UserspaceAddr", 16, 8, (ref r, v) => r.UserspaceAddr = v, r => r.UserspaceAddr);
        AbiAssert.NativeEndianField<VhostUserMemoryRegion>("MmapOffset", 24, 8, (ref r, v) => r.MmapOffset = v, r => r.MmapOffset);
    }

    [Fact]
    public void Single_memory_region_is_8_bytes_padding_then_a_region()
    {
        AbiAssert.Layout<VhostUserSingleMemoryRegion>(40, ("_padding", 0), ("_region", 8));
        AbiAssert.NativeEndianField<VhostUserSingleMemoryRegion>("Region.GuestPhysAddr", 8, 8, (ref s, v) => s.Region = new VhostUserMemoryRegion { GuestPhysAddr = v }, s => s.Region.GuestPhysAddr);
        AbiAssert.NativeEndianField<VhostUserSingleMemoryRegion>("Region.MmapOffset", 32, 8, (ref s, v) => s.Region = new VhostUserMemoryRegion { MmapOffset = v }, s => s.Region.MmapOffset);
    }

    [Fact]
    public void Log_is_mmap_size_then_offset_with_4k_pages()
    {
        AbiAssert.Layout<VhostUserLog>(16, ("_mmapSize", 0), ("_mmapOffset", 8));
        AbiAssert.NativeEndianField<VhostUserLog>("MmapSize", 0, 8, (ref l, v) => l.MmapSize = v, l => l.MmapSize);
        AbiAssert.NativeEndianField<VhostUserLog>("MmapOffset", 8, 8, (ref l, v) => l.MmapOffset = v, l => l.MmapOffset);
        Assert.Equal(0x1000, VhostUserLog.LogPageSize);
    }

    [Fact]
    public void Iotlb_message_is_padded_to_32_bytes_after_perm_and_type()
    {
        AbiAssert.Layout<VhostUserIotlbMsg>(32, ("_iova", 0), ("_rangeSize", 8), ("_userAddr", 16), ("_perm", 24), ("_type", 25));
        AbiAssert.NativeEndianField<VhostUserIotlbMsg>("Iova", 0, 8, (ref m, v) => m.Iova = v, m => m.Iova);
        AbiAssert.NativeEndianField<VhostUserIotlbMsg>("RangeSize", 8, 8, (ref m, v) => m.RangeSize = v, m => m.RangeSize);
        AbiAssert.NativeEndianField<VhostUserIotlbMsg>("UserAddr", 16, 8, (ref m, v) => m.UserAddr = v, m => m.UserAddr);
        AbiAssert.NativeEndianField<VhostUserIotlbMsg>("Perm", 24, 1, (ref m, v) => m.Perm = (VhostIotlbAccess)v, m => (ulong)m.Perm);
        AbiAssert.NativeEndianField<VhostUserIotlbMsg>("Type", 25, 1, (ref m, v) => m.Type = (VhostIotlbType)v, m => (ulong)m.Type);
    }

    [Fact]
    public void Config_header_is_offset_size_and_flags_before_at_most_256_bytes()
    {
        AbiAssert.Layout<VhostUserConfigHeader>(12, ("_offset", 0), ("_configSize", 4), ("_flags", 8));
        Assert.Equal(12, VhostUserConfigHeader.DataOffset);
        Assert.Equal(256, VhostUserConfigHeader.MaxConfigSize);
        AbiAssert.NativeEndianField<VhostUserConfigHeader>("Offset", 0, 4, (ref c, v) => c.Offset = (uint)v, c => c.Offset);
        AbiAssert.NativeEndianField<VhostUserConfigHeader>("ConfigSize", 4, 4, (ref c, v) => c.ConfigSize = (uint)v, c => c.ConfigSize);
        AbiAssert.NativeEndianField<VhostUserConfigHeader>("Flags", 8, 4, (ref c, v) => c.Flags = (VhostUserConfigFlags)v, c => (ulong)c.Flags);
    }

    [Fact]
    public void Vring_area_is_three_native_u64s()
    {
        AbiAssert.Layout<VhostUserVringArea>(24, ("_indexAndFlags", 0), ("_areaSize", 8), ("_areaOffset", 16));
        AbiAssert.NativeEndianField<VhostUserVringArea>("IndexAndFlags", 0, 8, (ref a, v) => a.IndexAndFlags = v, a => a.IndexAndFlags);
        AbiAssert.NativeEndianField<VhostUserVringArea>("AreaSize", 8, 8, (ref a, v) => a.AreaSize = v, a => a.AreaSize);
        AbiAssert.NativeEndianField<VhostUserVringArea>("AreaOffset", 16, 8, (ref a, v) => a.AreaOffset = v, a => a.AreaOffset);
    }

    [Fact]
    public void Inflight_description_is_padded_to_24_bytes_after_the_queue_counts()
    {
        AbiAssert.Layout<VhostUserInflight>(24, ("_mmapSize", 0), ("_mmapOffset", 8), ("_numQueues", 16), ("_queueSize", 18));
        AbiAssert.NativeEndianField<VhostUserInflight>("MmapSize", 0, 8, (ref i, v) => i.MmapSize = v, i => i.MmapSize);
        AbiAssert.NativeEndianField<VhostUserInflight>("MmapOffset", 8, 8, (ref i, v) => i.MmapOffset = v, i => i.MmapOffset);
        AbiAssert.NativeEndianField<VhostUserInflight>("NumQueues", 16, 2, (ref i, v) => i.NumQueues = (ushort)v, i => i.NumQueues);
        AbiAssert.NativeEndianField<VhostUserInflight>("QueueSize", 18, 2, (ref i, v) => i.QueueSize = (ushort)v, i => i.QueueSize);
    }

    [Fact]
    public void Shared_object_uuid_is_stored_in_rfc_4122_byte_order()
    {
        AbiAssert.Layout<VhostUserShared>(16, ("_uuid", 0));
        var uuid = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        var shared = new VhostUserShared { Uuid = uuid };
        Assert.Equal(Convert.FromHexString("00112233445566778899AABBCCDDEEFF"), AbiAssert.BytesOf(shared));
        Assert.Equal(uuid, MemoryMarshal.Read<VhostUserShared>(Convert.FromHexString("00112233445566778899AABBCCDDEEFF")).Uuid);
    }

    [Fact]
    public void Device_state_transfer_is_direction_then_phase()
    {
        AbiAssert.Layout<VhostUserDeviceStateTransfer>(8, ("_direction", 0), ("_phase", 4));
        AbiAssert.NativeEndianField<VhostUserDeviceStateTransfer>("Direction", 0, 4, (ref t, v) => t.Direction = (VhostUserTransferDirection)v, t => (ulong)t.Direction);
        AbiAssert.NativeEndianField<VhostUserDeviceStateTransfer>("Phase", 4, 4, (ref t, v) => t.Phase = (VhostUserMigrationPhase)v, t => (ulong)t.Phase);
    }

    [Fact]
    public void Split_inflight_region_is_a_16_byte_head_and_16_byte_descriptor_states()
    {
        AbiAssert.Layout<InflightDescStateSplit>(16, ("_inflight", 0), ("_padding", 1), ("_next", 6), ("_counter", 8));
        AbiAssert.NativeEndianField<InflightDescStateSplit>("Inflight", 0, 1, (ref d, v) => d.Inflight = (byte)v, d => d.Inflight);
        AbiAssert.NativeEndianField<InflightDescStateSplit>("Next", 6, 2, (ref d, v) => d.Next = (ushort)v, d => d.Next);
        AbiAssert.NativeEndianField<InflightDescStateSplit>("Counter", 8, 8, (ref d, v) => d.Counter = v, d => d.Counter);

        AbiAssert.Layout<InflightQueueRegionSplit>(16, ("_features", 0), ("_version", 8), ("_descNum", 10), ("_lastBatchHead", 12), ("_usedIdx", 14));
        Assert.Equal(16, InflightQueueRegionSplit.DescOffset);
        AbiAssert.NativeEndianField<InflightQueueRegionSplit>("Features", 0, 8, (ref q, v) => q.Features = v, q => q.Features);
        AbiAssert.NativeEndianField<InflightQueueRegionSplit>("Version", 8, 2, (ref q, v) => q.Version = (ushort)v, q => q.Version);
        AbiAssert.NativeEndianField<InflightQueueRegionSplit>("DescNum", 10, 2, (ref q, v) => q.DescNum = (ushort)v, q => q.DescNum);
        AbiAssert.NativeEndianField<InflightQueueRegionSplit>("LastBatchHead", 12, 2, (ref q, v) => q.LastBatchHead = (ushort)v, q => q.LastBatchHead);
        AbiAssert.NativeEndianField<InflightQueueRegionSplit>("UsedIdx", 14, 2, (ref q, v) => q.UsedIdx = (ushort)v, q => q.UsedIdx);
    }

    [Fact]
    public void Packed_inflight_region_is_a_32_byte_head_and_32_byte_descriptor_states()
    {
        AbiAssert.Layout<InflightDescStatePacked>(
            32,
            ("_inflight", 0),
            ("_padding", 1),
            ("_next", 2),
            ("_last", 4),
            ("_num", 6),
            ("_counter", 8),
            ("_id", 16),
            ("_flags", 18),
            ("_len", 20),
            ("_addr", 24));
        AbiAssert.NativeEndianField<InflightDescStatePacked>("Inflight", 0, 1, (ref d, v) => d.Inflight = (byte)v, d => d.Inflight);
        AbiAssert.NativeEndianField<InflightDescStatePacked>("Next", 2, 2, (ref d, v) => d.Next = (ushort)v, d => d.Next);
        AbiAssert.NativeEndianField<InflightDescStatePacked>("Last", 4, 2, (ref d, v) => d.Last = (ushort)v, d => d.Last);
        AbiAssert.NativeEndianField<InflightDescStatePacked>("Num", 6, 2, (ref d, v) => d.Num = (ushort)v, d => d.Num);
        AbiAssert.NativeEndianField<InflightDescStatePacked>("Counter", 8, 8, (ref d, v) => d.Counter = v, d => d.Counter);
        AbiAssert.NativeEndianField<InflightDescStatePacked>("Id", 16, 2, (ref d, v) => d.Id = (ushort)v, d => d.Id);
        AbiAssert.NativeEndianField<InflightDescStatePacked>("Flags", 18, 2, (ref d, v) => d.Flags = (ushort)v, d => d.Flags);
        AbiAssert.NativeEndianField<InflightDescStatePacked>("Len", 20, 4, (ref d, v) => d.Len = (uint)v, d => d.Len);
        AbiAssert.NativeEndianField<InflightDescStatePacked>("Addr", 24, 8, (ref d, v) => d.Addr = v, d => d.Addr);

        AbiAssert.Layout<InflightQueueRegionPacked>(
            32,
            ("_features", 0),
            ("_version", 8),
            ("_descNum", 10),
            ("_freeHead", 12),
            ("_oldFreeHead", 14),
            ("_usedIdx", 16),
            ("_oldUsedIdx", 18),
            ("_usedWrapCounter", 20),
            ("_oldUsedWrapCounter", 21),
            ("_padding", 22));
        Assert.Equal(32, InflightQueueRegionPacked.DescOffset);
        AbiAssert.NativeEndianField<InflightQueueRegionPacked>("Features", 0, 8, (ref q, v) => q.Features = v, q => q.Features);
        AbiAssert.NativeEndianField<InflightQueueRegionPacked>("Version", 8, 2, (ref q, v) => q.Version = (ushort)v, q => q.Version);
        AbiAssert.NativeEndianField<InflightQueueRegionPacked>("DescNum", 10, 2, (ref q, v) => q.DescNum = (ushort)v, q => q.DescNum);
        AbiAssert.NativeEndianField<InflightQueueRegionPacked>("FreeHead", 12, 2, (ref q, v) => q.FreeHead = (ushort)v, q => q.FreeHead);
        AbiAssert.NativeEndianField<InflightQueueRegionPacked>("OldFreeHead", 14, 2, (ref q, v) => q.OldFreeHead = (ushort)v, q => q.OldFreeHead);
        AbiAssert.NativeEndianField<InflightQueueRegionPacked>("UsedIdx", 16, 2, (ref q, v) => q.UsedIdx = (ushort)v, q => q.UsedIdx);
        AbiAssert.NativeEndianField<InflightQueueRegionPacked>("OldUsedIdx", 18, 2, (ref q, v) => q.OldUsedIdx = (ushort)v, q => q.OldUsedIdx);
        AbiAssert.NativeEndianField<InflightQueueRegionPacked>("UsedWrapCounter", 20, 1, (ref q, v) => q.UsedWrapCounter = (byte)v, q => q.UsedWrapCounter);
        AbiAssert.NativeEndianField<InflightQueueRegionPacked>("OldUsedWrapCounter", 21, 1, (ref q, v) => q.OldUsedWrapCounter = (byte)v, q => q.OldUsedWrapCounter);
    }

    [Fact]
    public void Payloads_shared_with_the_kernel_match_linux_vhost_types_h()
    {
        CHeaderAssert.Struct(probe, "vhost_vring_state", VhostUserVringState.Size, ("index", VhostUserVringState.IndexOffset), ("num", VhostUserVringState.NumOffset));
        CHeaderAssert.Struct(
            probe,
            "vhost_vring_addr",
            VhostUserVringAddr.Size,
            ("index", VhostUserVringAddr.IndexOffset),
            ("flags", VhostUserVringAddr.FlagsOffset),
            ("desc_user_addr", VhostUserVringAddr.DescUserAddrOffset),
            ("used_user_addr", VhostUserVringAddr.UsedUserAddrOffset),
            ("avail_user_addr", VhostUserVringAddr.AvailUserAddrOffset),
            ("log_guest_addr", VhostUserVringAddr.LogGuestAddrOffset));
        CHeaderAssert.Struct(
            probe,
            "vhost_iotlb_msg",
            VhostUserIotlbMsg.Size,
            ("iova", VhostUserIotlbMsg.IovaOffset),
            ("size", VhostUserIotlbMsg.RangeSizeOffset),
            ("uaddr", VhostUserIotlbMsg.UserAddrOffset),
            ("perm", VhostUserIotlbMsg.PermOffset),
            ("type", VhostUserIotlbMsg.TypeOffset));
        CHeaderAssert.Struct(
            probe,
            "vhost_memory_region",
            VhostUserMemoryRegion.Size,
            ("guest_phys_addr", VhostUserMemoryRegion.GuestPhysAddrOffset),
            ("memory_size", VhostUserMemoryRegion.MemorySizeOffset),
            ("userspace_addr", VhostUserMemoryRegion.UserspaceAddrOffset),
            ("flags_padding", VhostUserMemoryRegion.MmapOffsetOffset));
        CHeaderAssert.Struct(
            probe,
            "vhost_memory",
            VhostUserMemoryHeader.Size,
            ("nregions", VhostUserMemoryHeader.NRegionsOffset),
            ("padding", AbiAssert.OffsetOf<VhostUserMemoryHeader>("_padding")),
            ("regions", VhostUserMemoryHeader.RegionsOffset));
    }

    [Fact]
    public void Payloads_match_the_spec_layouts_as_a_c_compiler_lays_them_out()
    {
        CHeaderAssert.Struct(probe, "vu_header", VhostUserHeader.Size, ("request", VhostUserHeader.RequestOffset), ("flags", VhostUserHeader.FlagsOffset), ("size", VhostUserHeader.PayloadSizeOffset));
        CHeaderAssert.Struct(
            probe,
            "vu_memory",
            VhostUserMemoryHeader.Size + (VhostUserMemoryHeader.MaxRegions * VhostUserMemoryRegion.Size),
            ("nregions", VhostUserMemoryHeader.NRegionsOffset),
            ("padding", AbiAssert.OffsetOf<VhostUserMemoryHeader>("_padding")),
            ("regions", VhostUserMemoryHeader.RegionsOffset));
        CHeaderAssert.Struct(
            probe,
            "vu_memory_region",
            VhostUserMemoryRegion.Size,
            ("guest_address", VhostUserMemoryRegion.GuestPhysAddrOffset),
            ("size", VhostUserMemoryRegion.MemorySizeOffset),
            ("user_address", VhostUserMemoryRegion.UserspaceAddrOffset),
            ("mmap_offset", VhostUserMemoryRegion.MmapOffsetOffset));
        CHeaderAssert.Struct(probe, "vu_single_memory_region", VhostUserSingleMemoryRegion.Size, ("padding", 0), ("region", VhostUserSingleMemoryRegion.RegionOffset));
        CHeaderAssert.Struct(probe, "vu_log", VhostUserLog.Size, ("mmap_size", VhostUserLog.MmapSizeOffset), ("mmap_offset", VhostUserLog.MmapOffsetOffset));
        CHeaderAssert.Struct(
            probe,
            "vu_config",
            VhostUserConfigHeader.Size + VhostUserConfigHeader.MaxConfigSize,
            ("offset", VhostUserConfigHeader.OffsetOffset),
            ("size", VhostUserConfigHeader.ConfigSizeOffset),
            ("flags", VhostUserConfigHeader.FlagsOffset),
            ("payload", VhostUserConfigHeader.DataOffset));
        CHeaderAssert.Struct(
            probe,
            "vu_vring_area",
            VhostUserVringArea.Size,
            ("u64", VhostUserVringArea.IndexAndFlagsOffset),
            ("size", VhostUserVringArea.AreaSizeOffset),
            ("offset", VhostUserVringArea.AreaOffsetOffset));
        CHeaderAssert.Struct(
            probe,
            "vu_inflight",
            VhostUserInflight.Size,
            ("mmap_size", VhostUserInflight.MmapSizeOffset),
            ("mmap_offset", VhostUserInflight.MmapOffsetOffset),
            ("num_queues", VhostUserInflight.NumQueuesOffset),
            ("queue_size", VhostUserInflight.QueueSizeOffset));
        CHeaderAssert.Struct(probe, "vu_shared", VhostUserShared.Size, ("uuid", VhostUserShared.UuidOffset));
        CHeaderAssert.Struct(probe, "vu_transfer_state", VhostUserDeviceStateTransfer.Size, ("direction", VhostUserDeviceStateTransfer.DirectionOffset), ("phase", VhostUserDeviceStateTransfer.PhaseOffset));
    }

    [Fact]
    public void Inflight_regions_match_the_spec_layouts_as_a_c_compiler_lays_them_out()
    {
        CHeaderAssert.Struct(
            probe,
            "vu_desc_state_split",
            InflightDescStateSplit.Size,
            ("inflight", InflightDescStateSplit.InflightOffset),
            ("padding", AbiAssert.OffsetOf<InflightDescStateSplit>("_padding")),
            ("next", InflightDescStateSplit.NextOffset),
            ("counter", InflightDescStateSplit.CounterOffset));
        CHeaderAssert.Struct(
            probe,
            "vu_queue_region_split",
            InflightQueueRegionSplit.HeaderSize,
            ("features", InflightQueueRegionSplit.FeaturesOffset),
            ("version", InflightQueueRegionSplit.VersionOffset),
            ("desc_num", InflightQueueRegionSplit.DescNumOffset),
            ("last_batch_head", InflightQueueRegionSplit.LastBatchHeadOffset),
            ("used_idx", InflightQueueRegionSplit.UsedIdxOffset),
            ("desc", InflightQueueRegionSplit.DescOffset));
        CHeaderAssert.Struct(
            probe,
            "vu_desc_state_packed",
            InflightDescStatePacked.Size,
            ("inflight", InflightDescStatePacked.InflightOffset),
            ("padding", AbiAssert.OffsetOf<InflightDescStatePacked>("_padding")),
            ("next", InflightDescStatePacked.NextOffset),
            ("last", InflightDescStatePacked.LastOffset),
            ("num", InflightDescStatePacked.NumOffset),
            ("counter", InflightDescStatePacked.CounterOffset),
            ("id", InflightDescStatePacked.IdOffset),
            ("flags", InflightDescStatePacked.FlagsOffset),
            ("len", InflightDescStatePacked.LenOffset),
            ("addr", InflightDescStatePacked.AddrOffset));
        CHeaderAssert.Struct(
            probe,
            "vu_queue_region_packed",
            InflightQueueRegionPacked.HeaderSize,
            ("features", InflightQueueRegionPacked.FeaturesOffset),
            ("version", InflightQueueRegionPacked.VersionOffset),
            ("desc_num", InflightQueueRegionPacked.DescNumOffset),
            ("free_head", InflightQueueRegionPacked.FreeHeadOffset),
            ("old_free_head", InflightQueueRegionPacked.OldFreeHeadOffset),
            ("used_idx", InflightQueueRegionPacked.UsedIdxOffset),
            ("old_used_idx", InflightQueueRegionPacked.OldUsedIdxOffset),
            ("used_wrap_counter", InflightQueueRegionPacked.UsedWrapCounterOffset),
            ("old_used_wrap_counter", InflightQueueRegionPacked.OldUsedWrapCounterOffset),
            ("padding", AbiAssert.OffsetOf<InflightQueueRegionPacked>("_padding")),
            ("desc", InflightQueueRegionPacked.DescOffset));
    }

    public static TheoryData<string, ulong, ulong, bool> KernelConstants => new()
    {
        { "VHOST_VRING_F_LOG", BitNumber((ulong)VhostUserVringAddrFlags.Log), 0, false },
        { "VHOST_F_LOG_ALL", VhostUserLog.LogAllFeature, 26, false },
        { "VHOST_ACCESS_RO", (ulong)VhostIotlbAccess.Read, 1, false },
        { "VHOST_ACCESS_WO", (ulong)VhostIotlbAccess.Write, 2, false },
        { "VHOST_ACCESS_RW", (ulong)VhostIotlbAccess.ReadWrite, 3, false },
        { "VHOST_IOTLB_MISS", (ulong)VhostIotlbType.Miss, 1, false },
        { "VHOST_IOTLB_UPDATE", (ulong)VhostIotlbType.Update, 2, false },
        { "VHOST_IOTLB_INVALIDATE", (ulong)VhostIotlbType.Invalidate, 3, false },
        { "VHOST_IOTLB_ACCESS_FAIL", (ulong)VhostIotlbType.AccessFail, 4, false },
    };

    [Theory]
    [MemberData(nameof(KernelConstants))]
    public void Vring_log_flag_and_iotlb_values_match_the_spec_and_linux_vhost_types_h(string cName, ulong ours, ulong spec, bool newerThanLinux61) =>
        CHeaderAssert.Constant(probe, cName, ours, spec, newerThanLinux61);

    public static TheoryData<string, ulong, ulong> FrontEndRequests => new()
    {
        { "VHOST_USER_GET_FEATURES", (ulong)VhostUserRequest.GetFeatures, 1 },
        { "VHOST_USER_SET_FEATURES", (ulong)VhostUserRequest.SetFeatures, 2 },
        { "VHOST_USER_SET_OWNER", (ulong)VhostUserRequest.SetOwner, 3 },
        { "VHOST_USER_RESET_OWNER", (ulong)VhostUserRequest.ResetOwner, 4 },
        { "VHOST_USER_SET_MEM_TABLE", (ulong)VhostUserRequest.SetMemTable, 5 },
        { "VHOST_USER_SET_LOG_BASE", (ulong)VhostUserRequest.SetLogBase, 6 },
        { "VHOST_USER_SET_LOG_FD", (ulong)VhostUserRequest.SetLogFd, 7 },
        { "VHOST_USER_SET_VRING_NUM", (ulong)VhostUserRequest.SetVringNum, 8 },
        { "VHOST_USER_SET_VRING_ADDR", (ulong)VhostUserRequest.SetVringAddr, 9 },
        { "VHOST_USER_SET_VRING_BASE", (ulong)VhostUserRequest.SetVringBase, 10 },
        { "VHOST_USER_GET_VRING_BASE", (ulong)VhostUserRequest.GetVringBase, 11 },
        { "VHOST_USER_SET_VRING_KICK", (ulong)VhostUserRequest.SetVringKick, 12 },
        { "VHOST_USER_SET_VRING_CALL", (ulong)VhostUserRequest.SetVringCall, 13 },
        { "VHOST_USER_SET_VRING_ERR", (ulong)VhostUserRequest.SetVringErr, 14 },
        { "VHOST_USER_GET_PROTOCOL_FEATURES", (ulong)VhostUserRequest.GetProtocolFeatures, 15 },
        { "VHOST_USER_SET_PROTOCOL_FEATURES", (ulong)VhostUserRequest.SetProtocolFeatures, 16 },
        { "VHOST_USER_GET_QUEUE_NUM", (ulong)VhostUserRequest.GetQueueNum, 17 },
        { "VHOST_USER_SET_VRING_ENABLE", (ulong)VhostUserRequest.SetVringEnable, 18 },
        { "VHOST_USER_SEND_RARP", (ulong)VhostUserRequest.SendRarp, 19 },
        { "VHOST_USER_NET_SET_MTU", (ulong)VhostUserRequest.NetSetMtu, 20 },
        { "VHOST_USER_SET_BACKEND_REQ_FD", (ulong)VhostUserRequest.SetBackendReqFd, 21 },
        { "VHOST_USER_IOTLB_MSG", (ulong)VhostUserRequest.IotlbMsg, 22 },
        { "VHOST_USER_SET_VRING_ENDIAN", (ulong)VhostUserRequest.SetVringEndian, 23 },
        { "VHOST_USER_GET_CONFIG", (ulong)VhostUserRequest.GetConfig, 24 },
        { "VHOST_USER_SET_CONFIG", (ulong)VhostUserRequest.SetConfig, 25 },
        { "VHOST_USER_CREATE_CRYPTO_SESSION", (ulong)VhostUserRequest.CreateCryptoSession, 26 },
        { "VHOST_USER_CLOSE_CRYPTO_SESSION", (ulong)VhostUserRequest.CloseCryptoSession, 27 },
        { "VHOST_USER_POSTCOPY_ADVISE", (ulong)VhostUserRequest.PostcopyAdvise, 28 },
        { "VHOST_USER_POSTCOPY_LISTEN", (ulong)VhostUserRequest.PostcopyListen, 29 },
        { "VHOST_USER_POSTCOPY_END", (ulong)VhostUserRequest.PostcopyEnd, 30 },
        { "VHOST_USER_GET_INFLIGHT_FD", (ulong)VhostUserRequest.GetInflightFd, 31 },
        { "VHOST_USER_SET_INFLIGHT_FD", (ulong)VhostUserRequest.SetInflightFd, 32 },
        { "VHOST_USER_GPU_SET_SOCKET", (ulong)VhostUserRequest.GpuSetSocket, 33 },
        { "VHOST_USER_RESET_DEVICE", (ulong)VhostUserRequest.ResetDevice, 34 },
        { "VHOST_USER_VRING_KICK", (ulong)VhostUserRequest.VringKick, 35 },
        { "VHOST_USER_GET_MAX_MEM_SLOTS", (ulong)VhostUserRequest.GetMaxMemSlots, 36 },
        { "VHOST_USER_ADD_MEM_REG", (ulong)VhostUserRequest.AddMemReg, 37 },
        { "VHOST_USER_REM_MEM_REG", (ulong)VhostUserRequest.RemMemReg, 38 },
        { "VHOST_USER_SET_STATUS", (ulong)VhostUserRequest.SetStatus, 39 },
        { "VHOST_USER_GET_STATUS", (ulong)VhostUserRequest.GetStatus, 40 },
        { "VHOST_USER_GET_SHARED_OBJECT", (ulong)VhostUserRequest.GetSharedObject, 41 },
        { "VHOST_USER_SET_DEVICE_STATE_FD", (ulong)VhostUserRequest.SetDeviceStateFd, 42 },
        { "VHOST_USER_CHECK_DEVICE_STATE", (ulong)VhostUserRequest.CheckDeviceState, 43 },
        { "VHOST_USER_GET_SHMEM_CONFIG", (ulong)VhostUserRequest.GetShmemConfig, 44 },
    };

    [Theory]
    [MemberData(nameof(FrontEndRequests))]
    public void Front_end_request_codes_match_the_spec(string specName, ulong ours, ulong spec) =>
        Assert.True(ours == spec, $"{specName}: ours is {ours}, the spec says {spec}");

    [Fact]
    public void Front_end_requests_run_from_1_to_44_without_gaps()
    {
        Assert.Equal(Enumerable.Range(1, 44).Select(i => (uint)i), Enum.GetValues<VhostUserRequest>().Select(r => (uint)r).Order());
        Assert.Equal(44, FrontEndRequests.Count());
    }

    public static TheoryData<string, ulong, ulong> BackEndRequests => new()
    {
        { "VHOST_USER_BACKEND_IOTLB_MSG", (ulong)VhostUserBackendRequest.IotlbMsg, 1 },
        { "VHOST_USER_BACKEND_CONFIG_CHANGE_MSG", (ulong)VhostUserBackendRequest.ConfigChangeMsg, 2 },
        { "VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG", (ulong)VhostUserBackendRequest.VringHostNotifierMsg, 3 },
        { "VHOST_USER_BACKEND_VRING_CALL", (ulong)VhostUserBackendRequest.VringCall, 4 },
        { "VHOST_USER_BACKEND_VRING_ERR", (ulong)VhostUserBackendRequest.VringErr, 5 },
        { "VHOST_USER_BACKEND_SHARED_OBJECT_ADD", (ulong)VhostUserBackendRequest.SharedObjectAdd, 6 },
        { "VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE", (ulong)VhostUserBackendRequest.SharedObjectRemove, 7 },
        { "VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP", (ulong)VhostUserBackendRequest.SharedObjectLookup, 8 },
        { "VHOST_USER_BACKEND_SHMEM_MAP", (ulong)VhostUserBackendRequest.ShmemMap, 9 },
        { "VHOST_USER_BACKEND_SHMEM_UNMAP", (ulong)VhostUserBackendRequest.ShmemUnmap, 10 },
    };

    [Theory]
    [MemberData(nameof(BackEndRequests))]
    public void Back_end_request_codes_match_the_spec(string specName, ulong ours, ulong spec) =>
        Assert.True(ours == spec, $"{specName}: ours is {ours}, the spec says {spec}");

    [Fact]
    public void Back_end_requests_run_from_1_to_10_without_gaps()
    {
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (uint)i), Enum.GetValues<VhostUserBackendRequest>().Select(r => (uint)r).Order());
        Assert.Equal(10, BackEndRequests.Count());
    }

    public static TheoryData<string, ulong, ulong> ProtocolFeatures => new()
    {
        { "VHOST_USER_PROTOCOL_F_MQ", (ulong)VhostUserProtocolFeatures.Mq, 1UL << 0 },
        { "VHOST_USER_PROTOCOL_F_LOG_SHMFD", (ulong)VhostUserProtocolFeatures.LogShmfd, 1UL << 1 },
        { "VHOST_USER_PROTOCOL_F_RARP", (ulong)VhostUserProtocolFeatures.Rarp, 1UL << 2 },
        { "VHOST_USER_PROTOCOL_F_REPLY_ACK", (ulong)VhostUserProtocolFeatures.ReplyAck, 1UL << 3 },
        { "VHOST_USER_PROTOCOL_F_MTU", (ulong)VhostUserProtocolFeatures.NetMtu, 1UL << 4 },
        { "VHOST_USER_PROTOCOL_F_BACKEND_REQ", (ulong)VhostUserProtocolFeatures.BackendReq, 1UL << 5 },
        { "VHOST_USER_PROTOCOL_F_CROSS_ENDIAN", (ulong)VhostUserProtocolFeatures.CrossEndian, 1UL << 6 },
        { "VHOST_USER_PROTOCOL_F_CRYPTO_SESSION", (ulong)VhostUserProtocolFeatures.CryptoSession, 1UL << 7 },
        { "VHOST_USER_PROTOCOL_F_PAGEFAULT", (ulong)VhostUserProtocolFeatures.Pagefault, 1UL << 8 },
        { "VHOST_USER_PROTOCOL_F_CONFIG", (ulong)VhostUserProtocolFeatures.Config, 1UL << 9 },
        { "VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD", (ulong)VhostUserProtocolFeatures.BackendSendFd, 1UL << 10 },
        { "VHOST_USER_PROTOCOL_F_HOST_NOTIFIER", (ulong)VhostUserProtocolFeatures.HostNotifier, 1UL << 11 },
        { "VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD", (ulong)VhostUserProtocolFeatures.InflightShmfd, 1UL << 12 },
        { "VHOST_USER_PROTOCOL_F_RESET_DEVICE", (ulong)VhostUserProtocolFeatures.ResetDevice, 1UL << 13 },
        { "VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS", (ulong)VhostUserProtocolFeatures.InbandNotifications, 1UL << 14 },
        { "VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS", (ulong)VhostUserProtocolFeatures.ConfigureMemSlots, 1UL << 15 },
        { "VHOST_USER_PROTOCOL_F_STATUS", (ulong)VhostUserProtocolFeatures.Status, 1UL << 16 },
        { "VHOST_USER_PROTOCOL_F_XEN_MMAP", (ulong)VhostUserProtocolFeatures.XenMmap, 1UL << 17 },
        { "VHOST_USER_PROTOCOL_F_SHARED_OBJECT", (ulong)VhostUserProtocolFeatures.SharedObject, 1UL << 18 },
        { "VHOST_USER_PROTOCOL_F_DEVICE_STATE", (ulong)VhostUserProtocolFeatures.DeviceState, 1UL << 19 },
        { "VHOST_USER_PROTOCOL_F_SHMEM", (ulong)VhostUserProtocolFeatures.Shmem, 1UL << 20 },
    };

    [Theory]
    [MemberData(nameof(ProtocolFeatures))]
    public void Protocol_feature_bits_match_the_spec(string specName, ulong ours, ulong spec) =>
        Assert.True(ours == spec, $"{specName}: ours is {ours}, the spec says {spec}");

    [Fact]
    public void Every_protocol_feature_is_checked_and_the_bits_are_0_to_20()
    {
        var declared = Enum.GetValues<VhostUserProtocolFeatures>().Where(f => f != VhostUserProtocolFeatures.None).Select(f => (ulong)f).Order();
        Assert.Equal(Enumerable.Range(0, 21).Select(bit => 1UL << bit), declared);
        Assert.Equal(21, ProtocolFeatures.Count());
    }

    public static TheoryData<string, ulong, ulong> OtherSpecValues => new()
    {
        { "VHOST_USER_F_PROTOCOL_FEATURES", VirtioFeature.VhostUserProtocolFeatures, 30 },
        { "VHOST_LOG_PAGE", VhostUserLog.LogPageSize, 0x1000 },
        { "VHOST_MEMORY_BASELINE_NREGIONS (region0..region7)", VhostUserMemoryHeader.MaxRegions, 8 },
        { "VHOST_USER_MAX_CONFIG_SIZE", VhostUserConfigHeader.MaxConfigSize, 256 },
        { "vring index bits 0-7", VhostUserVringIndex.IndexMask, 0xFF },
        { "invalid FD flag, bit 8", VhostUserVringIndex.NoFdFlag, 1 << 8 },
        { "config flags: writable fields", (ulong)VhostUserConfigFlags.Writable, 0 },
        { "config flags: live migration", (ulong)VhostUserConfigFlags.LiveMigration, 1 },
        { "transfer direction: save", (ulong)VhostUserTransferDirection.Save, 0 },
        { "transfer direction: load", (ulong)VhostUserTransferDirection.Load, 1 },
        { "migration phase: stopped", (ulong)VhostUserMigrationPhase.Stopped, 0 },
        { "IOTLB permissions: no access", (ulong)VhostIotlbAccess.None, 0 },
        { "split vring base: avail index bits 0-15", VhostUserVringBase.SplitAvailIndexMask, 0xFFFF },
        { "packed vring base: avail index bits 0-14", VhostUserVringBase.PackedAvailIndexMask, 0x7FFF },
        { "packed vring base: avail wrap counter bit 15", VhostUserVringBase.PackedAvailWrapCounter, 0x8000 },
        { "packed vring base: used index bits 16-30", VhostUserVringBase.PackedUsedIndexMask, 0x7FFF_0000 },
        { "packed vring base: used index shift", (ulong)VhostUserVringBase.PackedUsedIndexShift, 16 },
        { "packed vring base: used wrap counter bit 31", VhostUserVringBase.PackedUsedWrapCounter, 0x8000_0000 },
        { "inflight region version", InflightQueueRegionSplit.CurrentVersion, 1 },
        { "packed inflight region version", InflightQueueRegionPacked.CurrentVersion, 1 },
    };

    [Theory]
    [MemberData(nameof(OtherSpecValues))]
    public void Flags_masks_and_limits_match_the_spec(string specName, ulong ours, ulong spec) =>
        Assert.True(ours == spec, $"{specName}: ours is {ours}, the spec says {spec}");

    [Fact]
    public void Packed_vring_base_fields_tile_the_32_bits_without_overlap()
    {
        uint[] parts = [VhostUserVringBase.PackedAvailIndexMask, VhostUserVringBase.PackedAvailWrapCounter, VhostUserVringBase.PackedUsedIndexMask, VhostUserVringBase.PackedUsedWrapCounter];
        Assert.Equal(uint.MaxValue, parts.Aggregate(0u, (all, part) => all | part));
        Assert.Equal(32, parts.Sum(part => BitOperations.PopCount(part)));
        Assert.Equal(VhostUserVringBase.PackedAvailIndexMask, VhostUserVringBase.PackedUsedIndexMask >> VhostUserVringBase.PackedUsedIndexShift);
    }

    private static ulong BitNumber(ulong mask) => (ulong)BitOperations.Log2(mask);
}
