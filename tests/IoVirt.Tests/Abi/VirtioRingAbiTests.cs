using System.Numerics;
using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Tests.Abi;

/// <summary>Ring layouts, device status, transport feature bits and device IDs (IoVirt.Abi.Virtio).</summary>
[Collection(CHeaderCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class VirtioRingAbiTests(CHeaderProbe probe)
{
    [Fact]
    public void Split_descriptor_is_16_bytes_with_fields_at_spec_offsets() =>
        AbiAssert.Layout<VirtqDesc>(16, ("_addr", 0), ("_len", 8), ("_flags", 12), ("_next", 14));

    [Fact]
    public void Split_descriptor_accessors_store_little_endian()
    {
        AbiAssert.LittleEndianField<VirtqDesc>("Addr", 0, 8, (ref d, v) => d.Addr = v, d => d.Addr);
        AbiAssert.LittleEndianField<VirtqDesc>("Len", 8, 4, (ref d, v) => d.Len = (uint)v, d => d.Len);
        AbiAssert.LittleEndianField<VirtqDesc>("Flags", 12, 2, (ref d, v) => d.Flags = (VirtqDescFlags)v, d => (ulong)d.Flags);
        AbiAssert.LittleEndianField<VirtqDesc>("Next", 14, 2, (ref d, v) => d.Next = (ushort)v, d => d.Next);
    }

    [Fact]
    public void Available_ring_head_is_4_bytes_followed_by_le16_entries_and_used_event()
    {
        AbiAssert.Layout<VirtqAvail>(4, ("_flags", 0), ("_idx", 2));
        Assert.Equal(4, VirtqAvail.RingOffset);
        Assert.Equal(2, VirtqAvail.ElementSize);
        Assert.Equal(4 + (2 * 256), VirtqAvail.UsedEventOffset(256));
        Assert.Equal((ulong)(4 + (2 * 256) + 2), VirtqAvail.TotalSize(256));
    }

    [Fact]
    public void Available_ring_accessors_store_little_endian()
    {
        AbiAssert.LittleEndianField<VirtqAvail>("Flags", 0, 2, (ref a, v) => a.Flags = (VirtqAvailFlags)v, a => (ulong)a.Flags);
        AbiAssert.LittleEndianField<VirtqAvail>("Idx", 2, 2, (ref a, v) => a.Idx = (ushort)v, a => a.Idx);
    }

    [Fact]
    public void Used_ring_head_is_4_bytes_followed_by_8_byte_elements_and_avail_event()
    {
        AbiAssert.Layout<VirtqUsed>(4, ("_flags", 0), ("_idx", 2));
        AbiAssert.Layout<VirtqUsedElem>(8, ("_id", 0), ("_len", 4));
        Assert.Equal(4, VirtqUsed.RingOffset);
        Assert.Equal(4 + (8 * 256), VirtqUsed.AvailEventOffset(256));
        Assert.Equal((ulong)(4 + (8 * 256) + 2), VirtqUsed.TotalSize(256));
    }

    [Fact]
    public void Used_ring_accessors_store_little_endian()
    {
        AbiAssert.LittleEndianField<VirtqUsed>("Flags", 0, 2, (ref u, v) => u.Flags = (VirtqUsedFlags)v, u => (ulong)u.Flags);
        AbiAssert.LittleEndianField<VirtqUsed>("Idx", 2, 2, (ref u, v) => u.Idx = (ushort)v, u => u.Idx);
        AbiAssert.LittleEndianField<VirtqUsedElem>("Id", 0, 4, (ref e, v) => e.Id = (uint)v, e => e.Id);
        AbiAssert.LittleEndianField<VirtqUsedElem>("Len", 4, 4, (ref e, v) => e.Len = (uint)v, e => e.Len);
    }

    [Fact]
    public void Packed_descriptor_is_16_bytes_with_id_before_flags()
    {
        AbiAssert.Layout<PackedDesc>(16, ("_addr", 0), ("_len", 8), ("_id", 12), ("_flags", 14));
        AbiAssert.Layout<PackedEventSuppression>(4, ("_offWrap", 0), ("_flags", 2));
    }

    [Fact]
    public void Packed_ring_accessors_store_little_endian()
    {
        AbiAssert.LittleEndianField<PackedDesc>("Addr", 0, 8, (ref d, v) => d.Addr = v, d => d.Addr);
        AbiAssert.LittleEndianField<PackedDesc>("Len", 8, 4, (ref d, v) => d.Len = (uint)v, d => d.Len);
        AbiAssert.LittleEndianField<PackedDesc>("Id", 12, 2, (ref d, v) => d.Id = (ushort)v, d => d.Id);
        AbiAssert.LittleEndianField<PackedDesc>("Flags", 14, 2, (ref d, v) => d.Flags = (PackedDescFlags)v, d => (ulong)d.Flags);
        AbiAssert.LittleEndianField<PackedEventSuppression>("OffWrap", 0, 2, (ref e, v) => e.OffWrap = (ushort)v, e => e.OffWrap);
    }

    [Fact]
    public void Packed_event_flags_keep_only_the_two_mode_bits()
    {
        var bytes = new byte[] { 0, 0, 0x02, 0xFF };
        var e = MemoryMarshal.Read<PackedEventSuppression>(bytes);
        Assert.Equal(PackedEventFlags.Desc, e.Flags);

        var written = default(PackedEventSuppression);
        written.Flags = PackedEventFlags.Disable;
        Assert.Equal(new byte[] { 0, 0, 1, 0 }, AbiAssert.BytesOf(written));
    }

    [Fact]
    public void Ring_structs_match_linux_virtio_ring_h()
    {
        CHeaderAssert.Struct(probe, "vring_desc", VirtqDesc.Size, ("addr", 0), ("len", 8), ("flags", 12), ("next", 14));
        CHeaderAssert.Struct(probe, "vring_avail", VirtqAvail.HeaderSize, ("flags", VirtqAvail.FlagsOffset), ("idx", VirtqAvail.IdxOffset), ("ring", VirtqAvail.RingOffset));
        CHeaderAssert.Struct(probe, "vring_used_elem", VirtqUsedElem.Size, ("id", 0), ("len", 4));
        CHeaderAssert.Struct(probe, "vring_used", VirtqUsed.HeaderSize, ("flags", VirtqUsed.FlagsOffset), ("idx", VirtqUsed.IdxOffset), ("ring", VirtqUsed.RingOffset));
        CHeaderAssert.Struct(probe, "vring_packed_desc", PackedDesc.Size, ("addr", 0), ("len", 8), ("id", 12), ("flags", PackedDesc.FlagsOffset));
        CHeaderAssert.Struct(probe, "vring_packed_desc_event", PackedEventSuppression.Size, ("off_wrap", PackedEventSuppression.OffWrapOffset), ("flags", PackedEventSuppression.FlagsOffset));
    }

    [Theory]
    [InlineData(256, 4096)]
    [InlineData(1024, 4)]
    public void Split_ring_part_sizes_add_up_to_linux_vring_size(int queueSize, int alignment)
    {
        var beforeUsed = SplitRingLayout.DescriptorTableSize(queueSize) + VirtqAvail.TotalSize(queueSize);
        var alignedBeforeUsed = (beforeUsed + (ulong)alignment - 1) & ~((ulong)alignment - 1);
        Assert.Equal(probe.Value($"vring_size:{queueSize}:{alignment}"), alignedBeforeUsed + VirtqUsed.TotalSize(queueSize));
    }

    public static TheoryData<string, ulong, ulong, bool> RingAndTransportConstants => new()
    {
        { "VRING_DESC_F_NEXT", (ulong)VirtqDescFlags.Next, 1, false },
        { "VRING_DESC_F_WRITE", (ulong)VirtqDescFlags.Write, 2, false },
        { "VRING_DESC_F_INDIRECT", (ulong)VirtqDescFlags.Indirect, 4, false },
        { "VRING_PACKED_DESC_F_AVAIL", BitNumber((ulong)PackedDescFlags.Avail), 7, false },
        { "VRING_PACKED_DESC_F_USED", BitNumber((ulong)PackedDescFlags.Used), 15, false },
        { "VRING_USED_F_NO_NOTIFY", (ulong)VirtqUsedFlags.NoNotify, 1, false },
        { "VRING_AVAIL_F_NO_INTERRUPT", (ulong)VirtqAvailFlags.NoInterrupt, 1, false },
        { "VRING_PACKED_EVENT_FLAG_ENABLE", (ulong)PackedEventFlags.Enable, 0, false },
        { "VRING_PACKED_EVENT_FLAG_DISABLE", (ulong)PackedEventFlags.Disable, 1, false },
        { "VRING_PACKED_EVENT_FLAG_DESC", (ulong)PackedEventFlags.Desc, 2, false },
        { "VRING_AVAIL_ALIGN_SIZE", VirtqAvail.Alignment, 2, false },
        { "VRING_USED_ALIGN_SIZE", VirtqUsed.Alignment, 4, false },
        { "VRING_DESC_ALIGN_SIZE", SplitRingLayout.DescriptorTableAlignment, 16, false },
        { "VIRTIO_CONFIG_S_ACKNOWLEDGE", (ulong)DeviceStatus.Acknowledge, 1, false },
        { "VIRTIO_CONFIG_S_DRIVER", (ulong)DeviceStatus.Driver, 2, false },
        { "VIRTIO_CONFIG_S_DRIVER_OK", (ulong)DeviceStatus.DriverOk, 4, false },
        { "VIRTIO_CONFIG_S_FEATURES_OK", (ulong)DeviceStatus.FeaturesOk, 8, false },
        { "VIRTIO_CONFIG_S_NEEDS_RESET", (ulong)DeviceStatus.DeviceNeedsReset, 64, false },
        { "VIRTIO_CONFIG_S_FAILED", (ulong)DeviceStatus.Failed, 128, false },
        { "VIRTIO_F_NOTIFY_ON_EMPTY", VirtioFeature.NotifyOnEmpty, 24, false },
        { "VIRTIO_F_ANY_LAYOUT", VirtioFeature.AnyLayout, 27, false },
        { "VIRTIO_RING_F_INDIRECT_DESC", VirtioFeature.RingIndirectDesc, 28, false },
        { "VIRTIO_RING_F_EVENT_IDX", VirtioFeature.RingEventIdx, 29, false },
        { "VIRTIO_F_VERSION_1", VirtioFeature.Version1, 32, false },
        { "VIRTIO_F_ACCESS_PLATFORM", VirtioFeature.AccessPlatform, 33, false },
        { "VIRTIO_F_RING_PACKED", VirtioFeature.RingPacked, 34, false },
        { "VIRTIO_F_IN_ORDER", VirtioFeature.InOrder, 35, false },
        { "VIRTIO_F_ORDER_PLATFORM", VirtioFeature.OrderPlatform, 36, false },
        { "VIRTIO_F_SR_IOV", VirtioFeature.SrIov, 37, false },
        { "VIRTIO_F_NOTIFICATION_DATA", VirtioFeature.NotificationData, 38, true },
        { "VIRTIO_F_NOTIF_CONFIG_DATA", VirtioFeature.NotifConfigData, 39, true },
        { "VIRTIO_F_RING_RESET", VirtioFeature.RingReset, 40, false },
    };

    [Theory]
    [MemberData(nameof(RingAndTransportConstants))]
    public void Ring_flags_status_bits_and_transport_features_match_the_spec_and_linux_headers(string cName, ulong ours, ulong spec, bool newerThanLinux61) =>
        CHeaderAssert.Constant(probe, cName, ours, spec, newerThanLinux61);

    public static TheoryData<string, ulong, ulong, bool> DeviceIds => new()
    {
        { "VIRTIO_ID_NET", (ulong)VirtioDeviceId.Net, 1, false },
        { "VIRTIO_ID_BLOCK", (ulong)VirtioDeviceId.Block, 2, false },
        { "VIRTIO_ID_CONSOLE", (ulong)VirtioDeviceId.Console, 3, false },
        { "VIRTIO_ID_RNG", (ulong)VirtioDeviceId.Entropy, 4, false },
        { "VIRTIO_ID_BALLOON", (ulong)VirtioDeviceId.Balloon, 5, false },
        { "VIRTIO_ID_IOMEM", (ulong)VirtioDeviceId.IoMemory, 6, false },
        { "VIRTIO_ID_RPMSG", (ulong)VirtioDeviceId.Rpmsg, 7, false },
        { "VIRTIO_ID_SCSI", (ulong)VirtioDeviceId.ScsiHost, 8, false },
        { "VIRTIO_ID_9P", (ulong)VirtioDeviceId.NineP, 9, false },
        { "VIRTIO_ID_MAC80211_WLAN", (ulong)VirtioDeviceId.Mac80211Wlan, 10, false },
        { "VIRTIO_ID_RPROC_SERIAL", (ulong)VirtioDeviceId.RprocSerial, 11, false },
        { "VIRTIO_ID_CAIF", (ulong)VirtioDeviceId.Caif, 12, false },
        { "VIRTIO_ID_MEMORY_BALLOON", (ulong)VirtioDeviceId.MemoryBalloon, 13, false },
        { "VIRTIO_ID_GPU", (ulong)VirtioDeviceId.Gpu, 16, false },
        { "VIRTIO_ID_CLOCK", (ulong)VirtioDeviceId.Clock, 17, false },
        { "VIRTIO_ID_INPUT", (ulong)VirtioDeviceId.Input, 18, false },
        { "VIRTIO_ID_VSOCK", (ulong)VirtioDeviceId.Vsock, 19, false },
        { "VIRTIO_ID_CRYPTO", (ulong)VirtioDeviceId.Crypto, 20, false },
        { "VIRTIO_ID_SIGNAL_DIST", (ulong)VirtioDeviceId.SignalDistribution, 21, false },
        { "VIRTIO_ID_PSTORE", (ulong)VirtioDeviceId.Pstore, 22, false },
        { "VIRTIO_ID_IOMMU", (ulong)VirtioDeviceId.Iommu, 23, false },
        { "VIRTIO_ID_MEM", (ulong)VirtioDeviceId.Mem, 24, false },
        { "VIRTIO_ID_SOUND", (ulong)VirtioDeviceId.Sound, 25, false },
        { "VIRTIO_ID_FS", (ulong)VirtioDeviceId.Fs, 26, false },
        { "VIRTIO_ID_PMEM", (ulong)VirtioDeviceId.Pmem, 27, false },
        { "VIRTIO_ID_RPMB", (ulong)VirtioDeviceId.Rpmb, 28, false },
        { "VIRTIO_ID_MAC80211_HWSIM", (ulong)VirtioDeviceId.Mac80211Hwsim, 29, false },
        { "VIRTIO_ID_VIDEO_ENCODER", (ulong)VirtioDeviceId.VideoEncoder, 30, false },
        { "VIRTIO_ID_VIDEO_DECODER", (ulong)VirtioDeviceId.VideoDecoder, 31, false },
        { "VIRTIO_ID_SCMI", (ulong)VirtioDeviceId.Scmi, 32, false },
        { "VIRTIO_ID_NITRO_SEC_MOD", (ulong)VirtioDeviceId.NitroSecureModule, 33, false },
        { "VIRTIO_ID_I2C_ADAPTER", (ulong)VirtioDeviceId.I2cAdapter, 34, false },
        { "VIRTIO_ID_WATCHDOG", (ulong)VirtioDeviceId.Watchdog, 35, false },
        { "VIRTIO_ID_CAN", (ulong)VirtioDeviceId.Can, 36, false },
        { "VIRTIO_ID_DMABUF", (ulong)VirtioDeviceId.Dmabuf, 37, false },
        { "VIRTIO_ID_PARAM_SERV", (ulong)VirtioDeviceId.ParameterServer, 38, false },
        { "VIRTIO_ID_AUDIO_POLICY", (ulong)VirtioDeviceId.AudioPolicy, 39, false },
        { "VIRTIO_ID_BT", (ulong)VirtioDeviceId.Bluetooth, 40, false },
        { "VIRTIO_ID_GPIO", (ulong)VirtioDeviceId.Gpio, 41, false },
    };

    [Theory]
    [MemberData(nameof(DeviceIds))]
    public void Device_ids_match_the_spec_and_linux_virtio_ids_h(string cName, ulong ours, ulong spec, bool newerThanLinux61) =>
        CHeaderAssert.Constant(probe, cName, ours, spec, newerThanLinux61);

    [Fact]
    public void Every_device_id_but_reserved_is_cross_checked()
    {
        var checkedIds = DeviceIds.Select(row => (ulong)row[1]).ToHashSet();
        Assert.DoesNotContain(Enum.GetValues<VirtioDeviceId>(), id => id != VirtioDeviceId.Reserved && !checkedIds.Contains((ulong)id));
    }

    private static ulong BitNumber(ulong mask) => (ulong)BitOperations.Log2(mask);
}
