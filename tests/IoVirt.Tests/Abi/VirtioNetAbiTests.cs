using IoVirt.Abi.Net;

namespace IoVirt.Tests.Abi;

/// <summary>Network device layouts and constants (IoVirt.Abi.Net), virtio 1.2 §5.1.</summary>
[Collection(CHeaderCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class VirtioNetAbiTests(CHeaderProbe probe)
{
    [Fact]
    public void Packet_header_is_12_bytes_with_num_buffers_last() =>
        AbiAssert.Layout<VirtioNetHdr>(
            12,
            ("_flags", 0),
            ("_gsoType", 1),
            ("_hdrLen", 2),
            ("_gsoSize", 4),
            ("_csumStart", 6),
            ("_csumOffset", 8),
            ("_numBuffers", 10));

    [Fact]
    public void Packet_header_accessors_store_little_endian()
    {
        AbiAssert.LittleEndianField<VirtioNetHdr>("Flags", 0, 1, (ref h, v) => h.Flags = (VirtioNetHdrFlags)v, h => (ulong)h.Flags);
        AbiAssert.LittleEndianField<VirtioNetHdr>("GsoType", 1, 1, (ref h, v) => h.GsoType = (VirtioNetGsoType)v, h => (ulong)h.GsoType);
        AbiAssert.LittleEndianField<VirtioNetHdr>("HdrLen", 2, 2, (ref h, v) => h.HdrLen = (ushort)v, h => h.HdrLen);
        AbiAssert.LittleEndianField<VirtioNetHdr>("GsoSize", 4, 2, (ref h, v) => h.GsoSize = (ushort)v, h => h.GsoSize);
        AbiAssert.LittleEndianField<VirtioNetHdr>("CsumStart", 6, 2, (ref h, v) => h.CsumStart = (ushort)v, h => h.CsumStart);
        AbiAssert.LittleEndianField<VirtioNetHdr>("CsumOffset", 8, 2, (ref h, v) => h.CsumOffset = (ushort)v, h => h.CsumOffset);
        AbiAssert.LittleEndianField<VirtioNetHdr>("NumBuffers", 10, 2, (ref h, v) => h.NumBuffers = (ushort)v, h => h.NumBuffers);
    }

    [Fact]
    public void Config_space_is_24_bytes_with_every_field_at_its_spec_offset() =>
        AbiAssert.Layout<VirtioNetConfig>(
            24,
            ("_mac", 0),
            ("_status", 6),
            ("_maxVirtqueuePairs", 8),
            ("_mtu", 10),
            ("_speed", 12),
            ("_duplex", 16),
            ("_rssMaxKeySize", 17),
            ("_rssMaxIndirectionTableLength", 18),
            ("_supportedHashTypes", 20));

    [Fact]
    public void Config_space_accessors_store_little_endian()
    {
        AbiAssert.LittleEndianField<VirtioNetConfig>("Status", 6, 2, (ref c, v) => c.Status = (VirtioNetStatus)v, c => (ulong)c.Status);
        AbiAssert.LittleEndianField<VirtioNetConfig>("MaxVirtqueuePairs", 8, 2, (ref c, v) => c.MaxVirtqueuePairs = (ushort)v, c => c.MaxVirtqueuePairs);
        AbiAssert.LittleEndianField<VirtioNetConfig>("Mtu", 10, 2, (ref c, v) => c.Mtu = (ushort)v, c => c.Mtu);
        AbiAssert.LittleEndianField<VirtioNetConfig>("Speed", 12, 4, (ref c, v) => c.Speed = (uint)v, c => c.Speed);
        AbiAssert.LittleEndianField<VirtioNetConfig>("Duplex", 16, 1, (ref c, v) => c.Duplex = (byte)v, c => c.Duplex);
        AbiAssert.LittleEndianField<VirtioNetConfig>("RssMaxKeySize", 17, 1, (ref c, v) => c.RssMaxKeySize = (byte)v, c => c.RssMaxKeySize);
        AbiAssert.LittleEndianField<VirtioNetConfig>("RssMaxIndirectionTableLength", 18, 2, (ref c, v) => c.RssMaxIndirectionTableLength = (ushort)v, c => c.RssMaxIndirectionTableLength);
        AbiAssert.LittleEndianField<VirtioNetConfig>("SupportedHashTypes", 20, 4, (ref c, v) => c.SupportedHashTypes = (VirtioNetHashType)v, c => (ulong)c.SupportedHashTypes);
    }

    [Fact]
    public void Config_space_mac_keeps_transmission_order()
    {
        byte[] address = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        var mac = default(VirtioNetMacAddress);
        address.CopyTo(mac);
        var config = new VirtioNetConfig { Mac = mac };

        var bytes = AbiAssert.BytesOf(config);
        Assert.Equal(address, bytes[VirtioNetConfig.MacOffset..(VirtioNetConfig.MacOffset + VirtioNetMacAddress.Length)]);
        Assert.All(bytes[VirtioNetMacAddress.Length..], b => Assert.Equal(0, b));
        Assert.Equal(6, VirtioNetMacAddress.Length);
        var readBack = config.Mac;
        Assert.Equal(address, ((ReadOnlySpan<byte>)readBack).ToArray());
    }

    [Fact]
    public void Control_header_is_class_then_command()
    {
        AbiAssert.Layout<VirtioNetCtrlHeader>(2, ("_class", 0), ("_command", 1));
        var header = new VirtioNetCtrlHeader { Class = VirtioNetCtrlClass.Mq, Command = VirtioNetCtrlMq.RssConfig };
        Assert.Equal(new byte[] { 4, 1 }, AbiAssert.BytesOf(header));
    }

    [Fact]
    public void Queue_pairs_command_data_is_one_le16()
    {
        AbiAssert.Layout<VirtioNetCtrlMqPairs>(2, ("_virtqueuePairs", 0));
        AbiAssert.LittleEndianField<VirtioNetCtrlMqPairs>("VirtqueuePairs", 0, 2, (ref m, v) => m.VirtqueuePairs = (ushort)v, m => m.VirtqueuePairs);
    }

    [Fact]
    public void Structs_match_linux_virtio_net_h()
    {
        CHeaderAssert.Struct(
            probe,
            "virtio_net_hdr_v1",
            VirtioNetHdr.Size,
            ("flags", VirtioNetHdr.FlagsOffset),
            ("gso_type", VirtioNetHdr.GsoTypeOffset),
            ("hdr_len", VirtioNetHdr.HdrLenOffset),
            ("gso_size", VirtioNetHdr.GsoSizeOffset),
            ("csum_start", VirtioNetHdr.CsumStartOffset),
            ("csum_offset", VirtioNetHdr.CsumOffsetOffset),
            ("num_buffers", VirtioNetHdr.NumBuffersOffset));
        CHeaderAssert.Struct(probe, "virtio_net_hdr", VirtioNetHdr.LegacySize);
        CHeaderAssert.Struct(
            probe,
            "virtio_net_config",
            VirtioNetConfig.Size,
            ("mac", VirtioNetConfig.MacOffset),
            ("status", VirtioNetConfig.StatusOffset),
            ("max_virtqueue_pairs", VirtioNetConfig.MaxVirtqueuePairsOffset),
            ("mtu", VirtioNetConfig.MtuOffset),
            ("speed", VirtioNetConfig.SpeedOffset),
            ("duplex", VirtioNetConfig.DuplexOffset),
            ("rss_max_key_size", VirtioNetConfig.RssMaxKeySizeOffset),
            ("rss_max_indirection_table_length", VirtioNetConfig.RssMaxIndirectionTableLengthOffset),
            ("supported_hash_types", VirtioNetConfig.SupportedHashTypesOffset));
        CHeaderAssert.Struct(probe, "virtio_net_ctrl_hdr", VirtioNetCtrlHeader.Size, ("class", VirtioNetCtrlHeader.ClassOffset), ("cmd", VirtioNetCtrlHeader.CommandOffset));
        CHeaderAssert.Struct(probe, "virtio_net_ctrl_mq", VirtioNetCtrlMqPairs.Size, ("virtqueue_pairs", 0));
        Assert.Equal((ulong)VirtioNetMacAddress.Length, probe.Value("ETH_ALEN"));
    }

    public static TheoryData<string, ulong, ulong, bool> FeatureBits => new()
    {
        { "VIRTIO_NET_F_CSUM", VirtioNetFeature.Csum, 0, false },
        { "VIRTIO_NET_F_GUEST_CSUM", VirtioNetFeature.GuestCsum, 1, false },
        { "VIRTIO_NET_F_CTRL_GUEST_OFFLOADS", VirtioNetFeature.CtrlGuestOffloads, 2, false },
        { "VIRTIO_NET_F_MTU", VirtioNetFeature.Mtu, 3, false },
        { "VIRTIO_NET_F_MAC", VirtioNetFeature.Mac, 5, false },
        { "VIRTIO_NET_F_GSO", VirtioNetFeature.LegacyGso, 6, false },
        { "VIRTIO_NET_F_GUEST_TSO4", VirtioNetFeature.GuestTso4, 7, false },
        { "VIRTIO_NET_F_GUEST_TSO6", VirtioNetFeature.GuestTso6, 8, false },
        { "VIRTIO_NET_F_GUEST_ECN", VirtioNetFeature.GuestEcn, 9, false },
        { "VIRTIO_NET_F_GUEST_UFO", VirtioNetFeature.GuestUfo, 10, false },
        { "VIRTIO_NET_F_HOST_TSO4", VirtioNetFeature.HostTso4, 11, false },
        { "VIRTIO_NET_F_HOST_TSO6", VirtioNetFeature.HostTso6, 12, false },
        { "VIRTIO_NET_F_HOST_ECN", VirtioNetFeature.HostEcn, 13, false },
        { "VIRTIO_NET_F_HOST_UFO", VirtioNetFeature.HostUfo, 14, false },
        { "VIRTIO_NET_F_MRG_RXBUF", VirtioNetFeature.MrgRxbuf, 15, false },
        { "VIRTIO_NET_F_STATUS", VirtioNetFeature.Status, 16, false },
        { "VIRTIO_NET_F_CTRL_VQ", VirtioNetFeature.CtrlVq, 17, false },
        { "VIRTIO_NET_F_CTRL_RX", VirtioNetFeature.CtrlRx, 18, false },
        { "VIRTIO_NET_F_CTRL_VLAN", VirtioNetFeature.CtrlVlan, 19, false },
        { "VIRTIO_NET_F_CTRL_RX_EXTRA", VirtioNetFeature.CtrlRxExtra, 20, false },
        { "VIRTIO_NET_F_GUEST_ANNOUNCE", VirtioNetFeature.GuestAnnounce, 21, false },
        { "VIRTIO_NET_F_MQ", VirtioNetFeature.Mq, 22, false },
        { "VIRTIO_NET_F_CTRL_MAC_ADDR", VirtioNetFeature.CtrlMacAddr, 23, false },
        { "VIRTIO_NET_F_NOTF_COAL", VirtioNetFeature.NotfCoal, 53, false },
        { "VIRTIO_NET_F_GUEST_USO4", VirtioNetFeature.GuestUso4, 54, true },
        { "VIRTIO_NET_F_GUEST_USO6", VirtioNetFeature.GuestUso6, 55, true },
        { "VIRTIO_NET_F_HOST_USO", VirtioNetFeature.HostUso, 56, true },
        { "VIRTIO_NET_F_HASH_REPORT", VirtioNetFeature.HashReport, 57, false },
        { "VIRTIO_NET_F_GUEST_HDRLEN", VirtioNetFeature.GuestHdrLen, 59, true },
        { "VIRTIO_NET_F_RSS", VirtioNetFeature.Rss, 60, false },
        { "VIRTIO_NET_F_RSC_EXT", VirtioNetFeature.RscExt, 61, false },
        { "VIRTIO_NET_F_STANDBY", VirtioNetFeature.Standby, 62, false },
        { "VIRTIO_NET_F_SPEED_DUPLEX", VirtioNetFeature.SpeedDuplex, 63, false },
    };

    [Theory]
    [MemberData(nameof(FeatureBits))]
    public void Feature_bits_match_the_spec_and_linux_virtio_net_h(string cName, ulong ours, ulong spec, bool newerThanLinux61) =>
        CHeaderAssert.Constant(probe, cName, ours, spec, newerThanLinux61);

    [Fact]
    public void Every_feature_bit_is_cross_checked()
    {
        var checkedBits = FeatureBits.Select(row => (ulong)row[1]).ToHashSet();
        var declared = typeof(VirtioNetFeature).GetFields().Select(f => (ulong)(int)f.GetRawConstantValue()!);
        Assert.DoesNotContain(declared, bit => !checkedBits.Contains(bit));
    }

    public static TheoryData<string, ulong, ulong, bool> HeaderAndConfigValues => new()
    {
        { "VIRTIO_NET_HDR_F_NEEDS_CSUM", (ulong)VirtioNetHdrFlags.NeedsCsum, 1, false },
        { "VIRTIO_NET_HDR_F_DATA_VALID", (ulong)VirtioNetHdrFlags.DataValid, 2, false },
        { "VIRTIO_NET_HDR_F_RSC_INFO", (ulong)VirtioNetHdrFlags.RscInfo, 4, false },
        { "VIRTIO_NET_HDR_GSO_NONE", (ulong)VirtioNetGsoType.None, 0, false },
        { "VIRTIO_NET_HDR_GSO_TCPV4", (ulong)VirtioNetGsoType.TcpV4, 1, false },
        { "VIRTIO_NET_HDR_GSO_UDP", (ulong)VirtioNetGsoType.Udp, 3, false },
        { "VIRTIO_NET_HDR_GSO_TCPV6", (ulong)VirtioNetGsoType.TcpV6, 4, false },
        { "VIRTIO_NET_HDR_GSO_UDP_L4", (ulong)VirtioNetGsoType.UdpL4, 5, true },
        { "VIRTIO_NET_HDR_GSO_ECN", (ulong)VirtioNetGsoType.Ecn, 0x80, false },
        { "VIRTIO_NET_S_LINK_UP", (ulong)VirtioNetStatus.LinkUp, 1, false },
        { "VIRTIO_NET_S_ANNOUNCE", (ulong)VirtioNetStatus.Announce, 2, false },
        { "VIRTIO_NET_RSS_HASH_TYPE_IPv4", (ulong)VirtioNetHashType.IPv4, 1 << 0, false },
        { "VIRTIO_NET_RSS_HASH_TYPE_TCPv4", (ulong)VirtioNetHashType.TcpV4, 1 << 1, false },
        { "VIRTIO_NET_RSS_HASH_TYPE_UDPv4", (ulong)VirtioNetHashType.UdpV4, 1 << 2, false },
        { "VIRTIO_NET_RSS_HASH_TYPE_IPv6", (ulong)VirtioNetHashType.IPv6, 1 << 3, false },
        { "VIRTIO_NET_RSS_HASH_TYPE_TCPv6", (ulong)VirtioNetHashType.TcpV6, 1 << 4, false },
        { "VIRTIO_NET_RSS_HASH_TYPE_UDPv6", (ulong)VirtioNetHashType.UdpV6, 1 << 5, false },
        { "VIRTIO_NET_RSS_HASH_TYPE_IP_EX", (ulong)VirtioNetHashType.IPEx, 1 << 6, false },
        { "VIRTIO_NET_RSS_HASH_TYPE_TCP_EX", (ulong)VirtioNetHashType.TcpEx, 1 << 7, false },
        { "VIRTIO_NET_RSS_HASH_TYPE_UDP_EX", (ulong)VirtioNetHashType.UdpEx, 1 << 8, false },
    };

    [Theory]
    [MemberData(nameof(HeaderAndConfigValues))]
    public void Header_flags_gso_types_status_bits_and_hash_types_match_the_spec_and_linux_virtio_net_h(string cName, ulong ours, ulong spec, bool newerThanLinux61) =>
        CHeaderAssert.Constant(probe, cName, ours, spec, newerThanLinux61);

    public static TheoryData<string, ulong, ulong, bool> ControlQueueValues => new()
    {
        { "VIRTIO_NET_OK", (ulong)VirtioNetCtrlAck.Ok, 0, false },
        { "VIRTIO_NET_ERR", (ulong)VirtioNetCtrlAck.Error, 1, false },
        { "VIRTIO_NET_CTRL_RX", (ulong)VirtioNetCtrlClass.Rx, 0, false },
        { "VIRTIO_NET_CTRL_RX_PROMISC", VirtioNetCtrlRx.Promisc, 0, false },
        { "VIRTIO_NET_CTRL_RX_ALLMULTI", VirtioNetCtrlRx.AllMulti, 1, false },
        { "VIRTIO_NET_CTRL_RX_ALLUNI", VirtioNetCtrlRx.AllUni, 2, false },
        { "VIRTIO_NET_CTRL_RX_NOMULTI", VirtioNetCtrlRx.NoMulti, 3, false },
        { "VIRTIO_NET_CTRL_RX_NOUNI", VirtioNetCtrlRx.NoUni, 4, false },
        { "VIRTIO_NET_CTRL_RX_NOBCAST", VirtioNetCtrlRx.NoBcast, 5, false },
        { "VIRTIO_NET_CTRL_MAC", (ulong)VirtioNetCtrlClass.Mac, 1, false },
        { "VIRTIO_NET_CTRL_MAC_TABLE_SET", VirtioNetCtrlMac.TableSet, 0, false },
        { "VIRTIO_NET_CTRL_MAC_ADDR_SET", VirtioNetCtrlMac.AddrSet, 1, false },
        { "VIRTIO_NET_CTRL_VLAN", (ulong)VirtioNetCtrlClass.Vlan, 2, false },
        { "VIRTIO_NET_CTRL_VLAN_ADD", VirtioNetCtrlVlan.Add, 0, false },
        { "VIRTIO_NET_CTRL_VLAN_DEL", VirtioNetCtrlVlan.Del, 1, false },
        { "VIRTIO_NET_CTRL_ANNOUNCE", (ulong)VirtioNetCtrlClass.Announce, 3, false },
        { "VIRTIO_NET_CTRL_ANNOUNCE_ACK", VirtioNetCtrlAnnounce.Ack, 0, false },
        { "VIRTIO_NET_CTRL_MQ", (ulong)VirtioNetCtrlClass.Mq, 4, false },
        { "VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET", VirtioNetCtrlMq.VqPairsSet, 0, false },
        { "VIRTIO_NET_CTRL_MQ_RSS_CONFIG", VirtioNetCtrlMq.RssConfig, 1, false },
        { "VIRTIO_NET_CTRL_MQ_HASH_CONFIG", VirtioNetCtrlMq.HashConfig, 2, false },
        { "VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN", VirtioNetCtrlMq.VqPairsMin, 1, false },
        { "VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX", VirtioNetCtrlMq.VqPairsMax, 0x8000, false },
        { "VIRTIO_NET_CTRL_GUEST_OFFLOADS", (ulong)VirtioNetCtrlClass.GuestOffloads, 5, false },
        { "VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET", VirtioNetCtrlGuestOffloads.Set, 0, false },
        { "VIRTIO_NET_CTRL_NOTF_COAL", (ulong)VirtioNetCtrlClass.NotfCoal, 6, false },
        { "VIRTIO_NET_CTRL_NOTF_COAL_TX_SET", VirtioNetCtrlNotfCoal.TxSet, 0, false },
        { "VIRTIO_NET_CTRL_NOTF_COAL_RX_SET", VirtioNetCtrlNotfCoal.RxSet, 1, false },
    };

    [Theory]
    [MemberData(nameof(ControlQueueValues))]
    public void Control_classes_commands_and_acks_match_the_spec_and_linux_virtio_net_h(string cName, ulong ours, ulong spec, bool newerThanLinux61) =>
        CHeaderAssert.Constant(probe, cName, ours, spec, newerThanLinux61);
}
