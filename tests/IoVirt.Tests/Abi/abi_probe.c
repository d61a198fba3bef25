/*
 * ABI probe for IoVirt's layout tests. Compiled with gcc against the installed Linux uapi headers
 * at test time; prints one "name value" line per size, offset and constant, which the C# tests
 * compare with IoVirt.Abi. Keys: "sizeof:<struct>", "offsetof:<struct>.<field>", or the macro name.
 * Constants that newer kernels added are printed only when the installed headers define them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/version.h>
#include <linux/if_ether.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_net.h>
#include <linux/virtio_gpu.h>
#include <linux/vhost_types.h>
#include <linux/kvm.h>
#include <linux/virtio_pci.h>
#include <asm/bootparam.h>

#define SIZE(s) printf("sizeof:%s %zu\n", #s, sizeof(struct s))
#define OFF(s, f) printf("offsetof:%s.%s %zu\n", #s, #f, offsetof(struct s, f))
#define VAL(c) printf("%s %llu\n", #c, (unsigned long long)(c))

/*
 * vhost-user has no kernel header. These are the payload layouts as QEMU's
 * docs/interop/vhost-user.rst describes them, declared here so the C compiler's
 * alignment rules (and so the padding C peers see) can be compared with ours.
 */
struct vu_header { uint32_t request; uint32_t flags; uint32_t size; };
struct vu_memory_region { uint64_t guest_address; uint64_t size; uint64_t user_address; uint64_t mmap_offset; };
struct vu_memory { uint32_t nregions; uint32_t padding; struct vu_memory_region regions[8]; };
struct vu_single_memory_region { uint64_t padding; struct vu_memory_region region; };
struct vu_log { uint64_t mmap_size; uint64_t mmap_offset; };
struct vu_config { uint32_t offset; uint32_t size; uint32_t flags; uint8_t payload[256]; };
struct vu_vring_area { uint64_t u64; uint64_t size; uint64_t offset; };
struct vu_inflight { uint64_t mmap_size; uint64_t mmap_offset; uint16_t num_queues; uint16_t queue_size; };
struct vu_shared { uint8_t uuid[16]; };
struct vu_transfer_state { uint32_t direction; uint32_t phase; };
struct vu_desc_state_split { uint8_t inflight; uint8_t padding[5]; uint16_t next; uint64_t counter; };
struct vu_queue_region_split {
    uint64_t features; uint16_t version; uint16_t desc_num; uint16_t last_batch_head; uint16_t used_idx;
    struct vu_desc_state_split desc[];
};
struct vu_desc_state_packed {
    uint8_t inflight; uint8_t padding; uint16_t next; uint16_t last; uint16_t num; uint64_t counter;
    uint16_t id; uint16_t flags; uint32_t len; uint64_t addr;
};
struct vu_queue_region_packed {
    uint64_t features; uint16_t version; uint16_t desc_num; uint16_t free_head; uint16_t old_free_head;
    uint16_t used_idx; uint16_t old_used_idx; uint8_t used_wrap_counter; uint8_t old_used_wrap_counter;
    uint8_t padding[7];
    struct vu_desc_state_packed desc[];
};

static void rings(void)
{
    SIZE(vring_desc); OFF(vring_desc, addr); OFF(vring_desc, len); OFF(vring_desc, flags); OFF(vring_desc, next);
    SIZE(vring_avail); OFF(vring_avail, flags); OFF(vring_avail, idx); OFF(vring_avail, ring);
    SIZE(vring_used_elem); OFF(vring_used_elem, id); OFF(vring_used_elem, len);
    SIZE(vring_used); OFF(vring_used, flags); OFF(vring_used, idx); OFF(vring_used, ring);
    SIZE(vring_packed_desc); OFF(vring_packed_desc, addr); OFF(vring_packed_desc, len);
    OFF(vring_packed_desc, id); OFF(vring_packed_desc, flags);
    SIZE(vring_packed_desc_event); OFF(vring_packed_desc_event, off_wrap); OFF(vring_packed_desc_event, flags);

    VAL(VRING_DESC_F_NEXT); VAL(VRING_DESC_F_WRITE); VAL(VRING_DESC_F_INDIRECT);
    VAL(VRING_PACKED_DESC_F_AVAIL); VAL(VRING_PACKED_DESC_F_USED);
    VAL(VRING_USED_F_NO_NOTIFY); VAL(VRING_AVAIL_F_NO_INTERRUPT);
    VAL(VRING_PACKED_EVENT_FLAG_ENABLE); VAL(VRING_PACKED_EVENT_FLAG_DISABLE); VAL(VRING_PACKED_EVENT_FLAG_DESC);
    VAL(VRING_PACKED_EVENT_F_WRAP_CTR);
    VAL(VRING_AVAIL_ALIGN_SIZE); VAL(VRING_USED_ALIGN_SIZE); VAL(VRING_DESC_ALIGN_SIZE);
    printf("vring_size:256:4096 %u\n", vring_size(256, 4096));
    printf("vring_size:1024:4 %u\n", vring_size(1024, 4));
}

static void config(void)
{
    VAL(VIRTIO_CONFIG_S_ACKNOWLEDGE); VAL(VIRTIO_CONFIG_S_DRIVER); VAL(VIRTIO_CONFIG_S_DRIVER_OK);
    VAL(VIRTIO_CONFIG_S_FEATURES_OK); VAL(VIRTIO_CONFIG_S_NEEDS_RESET); VAL(VIRTIO_CONFIG_S_FAILED);
    VAL(VIRTIO_F_NOTIFY_ON_EMPTY); VAL(VIRTIO_F_ANY_LAYOUT); VAL(VIRTIO_RING_F_INDIRECT_DESC);
    VAL(VIRTIO_RING_F_EVENT_IDX); VAL(VIRTIO_F_VERSION_1); VAL(VIRTIO_F_ACCESS_PLATFORM);
    VAL(VIRTIO_F_RING_PACKED); VAL(VIRTIO_F_IN_ORDER); VAL(VIRTIO_F_ORDER_PLATFORM); VAL(VIRTIO_F_SR_IOV);
    VAL(VIRTIO_F_RING_RESET);
#ifdef VIRTIO_F_NOTIFICATION_DATA
    VAL(VIRTIO_F_NOTIFICATION_DATA);
#endif
#ifdef VIRTIO_F_NOTIF_CONFIG_DATA
    VAL(VIRTIO_F_NOTIF_CONFIG_DATA);
#endif
}

static void ids(void)
{
    VAL(VIRTIO_ID_NET); VAL(VIRTIO_ID_BLOCK); VAL(VIRTIO_ID_CONSOLE); VAL(VIRTIO_ID_RNG);
    VAL(VIRTIO_ID_BALLOON); VAL(VIRTIO_ID_IOMEM); VAL(VIRTIO_ID_RPMSG); VAL(VIRTIO_ID_SCSI);
    VAL(VIRTIO_ID_9P); VAL(VIRTIO_ID_MAC80211_WLAN); VAL(VIRTIO_ID_RPROC_SERIAL); VAL(VIRTIO_ID_CAIF);
    VAL(VIRTIO_ID_MEMORY_BALLOON); VAL(VIRTIO_ID_GPU); VAL(VIRTIO_ID_CLOCK); VAL(VIRTIO_ID_INPUT);
    VAL(VIRTIO_ID_VSOCK); VAL(VIRTIO_ID_CRYPTO); VAL(VIRTIO_ID_SIGNAL_DIST); VAL(VIRTIO_ID_PSTORE);
    VAL(VIRTIO_ID_IOMMU); VAL(VIRTIO_ID_MEM); VAL(VIRTIO_ID_SOUND); VAL(VIRTIO_ID_FS);
    VAL(VIRTIO_ID_PMEM); VAL(VIRTIO_ID_RPMB); VAL(VIRTIO_ID_MAC80211_HWSIM); VAL(VIRTIO_ID_VIDEO_ENCODER);
    VAL(VIRTIO_ID_VIDEO_DECODER); VAL(VIRTIO_ID_SCMI); VAL(VIRTIO_ID_NITRO_SEC_MOD); VAL(VIRTIO_ID_I2C_ADAPTER);
    VAL(VIRTIO_ID_WATCHDOG); VAL(VIRTIO_ID_CAN); VAL(VIRTIO_ID_DMABUF); VAL(VIRTIO_ID_PARAM_SERV);
    VAL(VIRTIO_ID_AUDIO_POLICY); VAL(VIRTIO_ID_BT); VAL(VIRTIO_ID_GPIO);
}

static void blk(void)
{
    SIZE(virtio_blk_config);
    OFF(virtio_blk_config, capacity); OFF(virtio_blk_config, size_max); OFF(virtio_blk_config, seg_max);
    OFF(virtio_blk_config, geometry); OFF(virtio_blk_config, geometry.cylinders);
    OFF(virtio_blk_config, geometry.heads); OFF(virtio_blk_config, geometry.sectors);
    OFF(virtio_blk_config, blk_size); OFF(virtio_blk_config, physical_block_exp);
    OFF(virtio_blk_config, alignment_offset); OFF(virtio_blk_config, min_io_size);
    OFF(virtio_blk_config, opt_io_size); OFF(virtio_blk_config, wce); OFF(virtio_blk_config, unused);
    OFF(virtio_blk_config, num_queues); OFF(virtio_blk_config, max_discard_sectors);
    OFF(virtio_blk_config, max_discard_seg); OFF(virtio_blk_config, discard_sector_alignment);
    OFF(virtio_blk_config, max_write_zeroes_sectors); OFF(virtio_blk_config, max_write_zeroes_seg);
    OFF(virtio_blk_config, write_zeroes_may_unmap); OFF(virtio_blk_config, unused1);
    OFF(virtio_blk_config, max_secure_erase_sectors); OFF(virtio_blk_config, max_secure_erase_seg);
    OFF(virtio_blk_config, secure_erase_sector_alignment);
    SIZE(virtio_blk_outhdr); OFF(virtio_blk_outhdr, type); OFF(virtio_blk_outhdr, ioprio); OFF(virtio_blk_outhdr, sector);
    SIZE(virtio_blk_discard_write_zeroes); OFF(virtio_blk_discard_write_zeroes, sector);
    OFF(virtio_blk_discard_write_zeroes, num_sectors); OFF(virtio_blk_discard_write_zeroes, flags);

    VAL(VIRTIO_BLK_F_SIZE_MAX); VAL(VIRTIO_BLK_F_SEG_MAX); VAL(VIRTIO_BLK_F_GEOMETRY); VAL(VIRTIO_BLK_F_RO);
    VAL(VIRTIO_BLK_F_BLK_SIZE); VAL(VIRTIO_BLK_F_FLUSH); VAL(VIRTIO_BLK_F_TOPOLOGY); VAL(VIRTIO_BLK_F_CONFIG_WCE);
    VAL(VIRTIO_BLK_F_MQ); VAL(VIRTIO_BLK_F_DISCARD); VAL(VIRTIO_BLK_F_WRITE_ZEROES); VAL(VIRTIO_BLK_F_SECURE_ERASE);
    VAL(VIRTIO_BLK_F_BARRIER); VAL(VIRTIO_BLK_F_SCSI);
    VAL(VIRTIO_BLK_ID_BYTES);
    VAL(VIRTIO_BLK_T_IN); VAL(VIRTIO_BLK_T_OUT); VAL(VIRTIO_BLK_T_FLUSH); VAL(VIRTIO_BLK_T_GET_ID);
    VAL(VIRTIO_BLK_T_DISCARD); VAL(VIRTIO_BLK_T_WRITE_ZEROES); VAL(VIRTIO_BLK_T_SECURE_ERASE);
    VAL(VIRTIO_BLK_S_OK); VAL(VIRTIO_BLK_S_IOERR); VAL(VIRTIO_BLK_S_UNSUPP);
    VAL(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
#ifdef VIRTIO_BLK_F_LIFETIME
    VAL(VIRTIO_BLK_F_LIFETIME);
#endif
#ifdef VIRTIO_BLK_T_GET_LIFETIME
    VAL(VIRTIO_BLK_T_GET_LIFETIME);
#endif
#ifdef VIRTIO_BLK_F_ZONED
    VAL(VIRTIO_BLK_F_ZONED);
    VAL(VIRTIO_BLK_T_ZONE_APPEND); VAL(VIRTIO_BLK_T_ZONE_REPORT); VAL(VIRTIO_BLK_T_ZONE_OPEN);
    VAL(VIRTIO_BLK_T_ZONE_CLOSE); VAL(VIRTIO_BLK_T_ZONE_FINISH); VAL(VIRTIO_BLK_T_ZONE_RESET);
    VAL(VIRTIO_BLK_T_ZONE_RESET_ALL);
    VAL(VIRTIO_BLK_S_ZONE_INVALID_CMD); VAL(VIRTIO_BLK_S_ZONE_UNALIGNED_WP);
    VAL(VIRTIO_BLK_S_ZONE_OPEN_RESOURCE); VAL(VIRTIO_BLK_S_ZONE_ACTIVE_RESOURCE);
    VAL(VIRTIO_BLK_Z_NONE); VAL(VIRTIO_BLK_Z_HM); VAL(VIRTIO_BLK_Z_HA);
    OFF(virtio_blk_config, zoned);
    SIZE(virtio_blk_zoned_characteristics);
    OFF(virtio_blk_zoned_characteristics, zone_sectors); OFF(virtio_blk_zoned_characteristics, max_open_zones);
    OFF(virtio_blk_zoned_characteristics, max_active_zones); OFF(virtio_blk_zoned_characteristics, max_append_sectors);
    OFF(virtio_blk_zoned_characteristics, write_granularity); OFF(virtio_blk_zoned_characteristics, model);
    OFF(virtio_blk_zoned_characteristics, unused2);
#endif
}

static void net(void)
{
    VAL(ETH_ALEN);
    SIZE(virtio_net_config);
    OFF(virtio_net_config, mac); OFF(virtio_net_config, status); OFF(virtio_net_config, max_virtqueue_pairs);
    OFF(virtio_net_config, mtu); OFF(virtio_net_config, speed); OFF(virtio_net_config, duplex);
    OFF(virtio_net_config, rss_max_key_size); OFF(virtio_net_config, rss_max_indirection_table_length);
    OFF(virtio_net_config, supported_hash_types);
    SIZE(virtio_net_hdr_v1);
    OFF(virtio_net_hdr_v1, flags); OFF(virtio_net_hdr_v1, gso_type); OFF(virtio_net_hdr_v1, hdr_len);
    OFF(virtio_net_hdr_v1, gso_size); OFF(virtio_net_hdr_v1, csum_start); OFF(virtio_net_hdr_v1, csum_offset);
    OFF(virtio_net_hdr_v1, num_buffers);
    SIZE(virtio_net_hdr);
    SIZE(virtio_net_ctrl_hdr); OFF(virtio_net_ctrl_hdr, class); OFF(virtio_net_ctrl_hdr, cmd);
    SIZE(virtio_net_ctrl_mq); OFF(virtio_net_ctrl_mq, virtqueue_pairs);

    VAL(VIRTIO_NET_F_CSUM); VAL(VIRTIO_NET_F_GUEST_CSUM); VAL(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
    VAL(VIRTIO_NET_F_MTU); VAL(VIRTIO_NET_F_MAC); VAL(VIRTIO_NET_F_GSO); VAL(VIRTIO_NET_F_GUEST_TSO4);
    VAL(VIRTIO_NET_F_GUEST_TSO6); VAL(VIRTIO_NET_F_GUEST_ECN); VAL(VIRTIO_NET_F_GUEST_UFO);
    VAL(VIRTIO_NET_F_HOST_TSO4); VAL(VIRTIO_NET_F_HOST_TSO6); VAL(VIRTIO_NET_F_HOST_ECN);
    VAL(VIRTIO_NET_F_HOST_UFO); VAL(VIRTIO_NET_F_MRG_RXBUF); VAL(VIRTIO_NET_F_STATUS);
    VAL(VIRTIO_NET_F_CTRL_VQ); VAL(VIRTIO_NET_F_CTRL_RX); VAL(VIRTIO_NET_F_CTRL_VLAN);
    VAL(VIRTIO_NET_F_CTRL_RX_EXTRA); VAL(VIRTIO_NET_F_GUEST_ANNOUNCE); VAL(VIRTIO_NET_F_MQ);
    VAL(VIRTIO_NET_F_CTRL_MAC_ADDR); VAL(VIRTIO_NET_F_NOTF_COAL); VAL(VIRTIO_NET_F_HASH_REPORT);
    VAL(VIRTIO_NET_F_RSS); VAL(VIRTIO_NET_F_RSC_EXT); VAL(VIRTIO_NET_F_STANDBY); VAL(VIRTIO_NET_F_SPEED_DUPLEX);
#ifdef VIRTIO_NET_F_GUEST_USO4
    VAL(VIRTIO_NET_F_GUEST_USO4);
#endif
#ifdef VIRTIO_NET_F_GUEST_USO6
    VAL(VIRTIO_NET_F_GUEST_USO6);
#endif
#ifdef VIRTIO_NET_F_HOST_USO
    VAL(VIRTIO_NET_F_HOST_USO);
#endif
#ifdef VIRTIO_NET_F_GUEST_HDRLEN
    VAL(VIRTIO_NET_F_GUEST_HDRLEN);
#endif
    VAL(VIRTIO_NET_S_LINK_UP); VAL(VIRTIO_NET_S_ANNOUNCE);
    VAL(VIRTIO_NET_RSS_HASH_TYPE_IPv4); VAL(VIRTIO_NET_RSS_HASH_TYPE_TCPv4); VAL(VIRTIO_NET_RSS_HASH_TYPE_UDPv4);
    VAL(VIRTIO_NET_RSS_HASH_TYPE_IPv6); VAL(VIRTIO_NET_RSS_HASH_TYPE_TCPv6); VAL(VIRTIO_NET_RSS_HASH_TYPE_UDPv6);
    VAL(VIRTIO_NET_RSS_HASH_TYPE_IP_EX); VAL(VIRTIO_NET_RSS_HASH_TYPE_TCP_EX); VAL(VIRTIO_NET_RSS_HASH_TYPE_UDP_EX);
    VAL(VIRTIO_NET_HDR_F_NEEDS_CSUM); VAL(VIRTIO_NET_HDR_F_DATA_VALID); VAL(VIRTIO_NET_HDR_F_RSC_INFO);
    VAL(VIRTIO_NET_HDR_GSO_NONE); VAL(VIRTIO_NET_HDR_GSO_TCPV4); VAL(VIRTIO_NET_HDR_GSO_UDP);
    VAL(VIRTIO_NET_HDR_GSO_TCPV6); VAL(VIRTIO_NET_HDR_GSO_ECN);
#ifdef VIRTIO_NET_HDR_GSO_UDP_L4
    VAL(VIRTIO_NET_HDR_GSO_UDP_L4);
#endif
    VAL(VIRTIO_NET_OK); VAL(VIRTIO_NET_ERR);
    VAL(VIRTIO_NET_CTRL_RX); VAL(VIRTIO_NET_CTRL_RX_PROMISC); VAL(VIRTIO_NET_CTRL_RX_ALLMULTI);
    VAL(VIRTIO_NET_CTRL_RX_ALLUNI); VAL(VIRTIO_NET_CTRL_RX_NOMULTI); VAL(VIRTIO_NET_CTRL_RX_NOUNI);
    VAL(VIRTIO_NET_CTRL_RX_NOBCAST);
    VAL(VIRTIO_NET_CTRL_MAC); VAL(VIRTIO_NET_CTRL_MAC_TABLE_SET); VAL(VIRTIO_NET_CTRL_MAC_ADDR_SET);
    VAL(VIRTIO_NET_CTRL_VLAN); VAL(VIRTIO_NET_CTRL_VLAN_ADD); VAL(VIRTIO_NET_CTRL_VLAN_DEL);
    VAL(VIRTIO_NET_CTRL_ANNOUNCE); VAL(VIRTIO_NET_CTRL_ANNOUNCE_ACK);
    VAL(VIRTIO_NET_CTRL_MQ); VAL(VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET); VAL(VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN);
    VAL(VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX); VAL(VIRTIO_NET_CTRL_MQ_RSS_CONFIG); VAL(VIRTIO_NET_CTRL_MQ_HASH_CONFIG);
    VAL(VIRTIO_NET_CTRL_GUEST_OFFLOADS); VAL(VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET);
    VAL(VIRTIO_NET_CTRL_NOTF_COAL); VAL(VIRTIO_NET_CTRL_NOTF_COAL_TX_SET); VAL(VIRTIO_NET_CTRL_NOTF_COAL_RX_SET);
}

static void vhost(void)
{
    SIZE(vhost_vring_state); OFF(vhost_vring_state, index); OFF(vhost_vring_state, num);
    SIZE(vhost_vring_addr); OFF(vhost_vring_addr, index); OFF(vhost_vring_addr, flags);
    OFF(vhost_vring_addr, desc_user_addr); OFF(vhost_vring_addr, used_user_addr);
    OFF(vhost_vring_addr, avail_user_addr); OFF(vhost_vring_addr, log_guest_addr);
    SIZE(vhost_iotlb_msg); OFF(vhost_iotlb_msg, iova); OFF(vhost_iotlb_msg, size); OFF(vhost_iotlb_msg, uaddr);
    OFF(vhost_iotlb_msg, perm); OFF(vhost_iotlb_msg, type);
    SIZE(vhost_memory_region); OFF(vhost_memory_region, guest_phys_addr); OFF(vhost_memory_region, memory_size);
    OFF(vhost_memory_region, userspace_addr); OFF(vhost_memory_region, flags_padding);
    SIZE(vhost_memory); OFF(vhost_memory, nregions); OFF(vhost_memory, padding); OFF(vhost_memory, regions);

    VAL(VHOST_VRING_F_LOG); VAL(VHOST_F_LOG_ALL);
    VAL(VHOST_ACCESS_RO); VAL(VHOST_ACCESS_WO); VAL(VHOST_ACCESS_RW);
    VAL(VHOST_IOTLB_MISS); VAL(VHOST_IOTLB_UPDATE); VAL(VHOST_IOTLB_INVALIDATE); VAL(VHOST_IOTLB_ACCESS_FAIL);

    SIZE(vu_header); OFF(vu_header, request); OFF(vu_header, flags); OFF(vu_header, size);
    SIZE(vu_memory_region); OFF(vu_memory_region, guest_address); OFF(vu_memory_region, size);
    OFF(vu_memory_region, user_address); OFF(vu_memory_region, mmap_offset);
    SIZE(vu_memory); OFF(vu_memory, nregions); OFF(vu_memory, padding); OFF(vu_memory, regions);
    SIZE(vu_single_memory_region); OFF(vu_single_memory_region, padding); OFF(vu_single_memory_region, region);
    SIZE(vu_log); OFF(vu_log, mmap_size); OFF(vu_log, mmap_offset);
    SIZE(vu_config); OFF(vu_config, offset); OFF(vu_config, size); OFF(vu_config, flags); OFF(vu_config, payload);
    SIZE(vu_vring_area); OFF(vu_vring_area, u64); OFF(vu_vring_area, size); OFF(vu_vring_area, offset);
    SIZE(vu_inflight); OFF(vu_inflight, mmap_size); OFF(vu_inflight, mmap_offset);
    OFF(vu_inflight, num_queues); OFF(vu_inflight, queue_size);
    SIZE(vu_shared); OFF(vu_shared, uuid);
    SIZE(vu_transfer_state); OFF(vu_transfer_state, direction); OFF(vu_transfer_state, phase);
    SIZE(vu_desc_state_split); OFF(vu_desc_state_split, inflight); OFF(vu_desc_state_split, padding);
    OFF(vu_desc_state_split, next); OFF(vu_desc_state_split, counter);
    SIZE(vu_queue_region_split); OFF(vu_queue_region_split, features); OFF(vu_queue_region_split, version);
    OFF(vu_queue_region_split, desc_num); OFF(vu_queue_region_split, last_batch_head);
    OFF(vu_queue_region_split, used_idx); OFF(vu_queue_region_split, desc);
    SIZE(vu_desc_state_packed); OFF(vu_desc_state_packed, inflight); OFF(vu_desc_state_packed, padding);
    OFF(vu_desc_state_packed, next); OFF(vu_desc_state_packed, last); OFF(vu_desc_state_packed, num);
    OFF(vu_desc_state_packed, counter); OFF(vu_desc_state_packed, id); OFF(vu_desc_state_packed, flags);
    OFF(vu_desc_state_packed, len); OFF(vu_desc_state_packed, addr);
    SIZE(vu_queue_region_packed); OFF(vu_queue_region_packed, features); OFF(vu_queue_region_packed, version);
    OFF(vu_queue_region_packed, desc_num); OFF(vu_queue_region_packed, free_head);
    OFF(vu_queue_region_packed, old_free_head); OFF(vu_queue_region_packed, used_idx);
    OFF(vu_queue_region_packed, old_used_idx); OFF(vu_queue_region_packed, used_wrap_counter);
    OFF(vu_queue_region_packed, old_used_wrap_counter); OFF(vu_queue_region_packed, padding);
    OFF(vu_queue_region_packed, desc);
}

static void kvm(void)
{
    SIZE(kvm_userspace_memory_region); OFF(kvm_userspace_memory_region, slot); OFF(kvm_userspace_memory_region, flags);
    OFF(kvm_userspace_memory_region, guest_phys_addr); OFF(kvm_userspace_memory_region, memory_size);
    OFF(kvm_userspace_memory_region, userspace_addr);
    SIZE(kvm_regs); OFF(kvm_regs, rax); OFF(kvm_regs, rbp); OFF(kvm_regs, r8); OFF(kvm_regs, r15);
    OFF(kvm_regs, rip); OFF(kvm_regs, rflags);
    SIZE(kvm_segment); OFF(kvm_segment, base); OFF(kvm_segment, limit); OFF(kvm_segment, selector);
    OFF(kvm_segment, type); OFF(kvm_segment, present); OFF(kvm_segment, dpl); OFF(kvm_segment, db);
    OFF(kvm_segment, s); OFF(kvm_segment, l); OFF(kvm_segment, g); OFF(kvm_segment, avl);
    OFF(kvm_segment, unusable); OFF(kvm_segment, padding);
    SIZE(kvm_dtable); OFF(kvm_dtable, base); OFF(kvm_dtable, limit);
    SIZE(kvm_sregs); OFF(kvm_sregs, cs); OFF(kvm_sregs, ds); OFF(kvm_sregs, es); OFF(kvm_sregs, fs);
    OFF(kvm_sregs, gs); OFF(kvm_sregs, ss); OFF(kvm_sregs, tr); OFF(kvm_sregs, ldt); OFF(kvm_sregs, gdt);
    OFF(kvm_sregs, idt); OFF(kvm_sregs, cr0); OFF(kvm_sregs, cr2); OFF(kvm_sregs, cr3); OFF(kvm_sregs, cr4);
    OFF(kvm_sregs, cr8); OFF(kvm_sregs, efer); OFF(kvm_sregs, apic_base); OFF(kvm_sregs, interrupt_bitmap);
    SIZE(kvm_fpu); OFF(kvm_fpu, fpr); OFF(kvm_fpu, fcw); OFF(kvm_fpu, fsw); OFF(kvm_fpu, ftwx);
    OFF(kvm_fpu, last_opcode); OFF(kvm_fpu, last_ip); OFF(kvm_fpu, last_dp); OFF(kvm_fpu, xmm); OFF(kvm_fpu, mxcsr);
    SIZE(kvm_xcr); OFF(kvm_xcr, xcr); OFF(kvm_xcr, value);
    SIZE(kvm_xcrs); OFF(kvm_xcrs, nr_xcrs); OFF(kvm_xcrs, flags); OFF(kvm_xcrs, xcrs); OFF(kvm_xcrs, padding);
    SIZE(kvm_msr_entry); OFF(kvm_msr_entry, index); OFF(kvm_msr_entry, data);
    SIZE(kvm_msrs); OFF(kvm_msrs, nmsrs); OFF(kvm_msrs, entries);
    SIZE(kvm_cpuid_entry2); OFF(kvm_cpuid_entry2, function); OFF(kvm_cpuid_entry2, index);
    OFF(kvm_cpuid_entry2, flags); OFF(kvm_cpuid_entry2, eax); OFF(kvm_cpuid_entry2, ebx);
    OFF(kvm_cpuid_entry2, ecx); OFF(kvm_cpuid_entry2, edx);
    SIZE(kvm_cpuid2); OFF(kvm_cpuid2, nent); OFF(kvm_cpuid2, entries);
    SIZE(kvm_signal_mask); OFF(kvm_signal_mask, len); OFF(kvm_signal_mask, sigset);
    SIZE(kvm_irq_level); OFF(kvm_irq_level, irq); OFF(kvm_irq_level, level);
    SIZE(kvm_irqfd); OFF(kvm_irqfd, fd); OFF(kvm_irqfd, gsi); OFF(kvm_irqfd, flags); OFF(kvm_irqfd, resamplefd);
    SIZE(kvm_msi); OFF(kvm_msi, address_lo); OFF(kvm_msi, address_hi); OFF(kvm_msi, data); OFF(kvm_msi, flags);
    OFF(kvm_msi, devid);
    SIZE(kvm_pit_config); OFF(kvm_pit_config, flags);
    SIZE(kvm_lapic_state);
    SIZE(kvm_irq_routing_entry); OFF(kvm_irq_routing_entry, gsi); OFF(kvm_irq_routing_entry, type);
    OFF(kvm_irq_routing_entry, flags); OFF(kvm_irq_routing_entry, u.irqchip.irqchip);
    OFF(kvm_irq_routing_entry, u.irqchip.pin); OFF(kvm_irq_routing_entry, u.msi.address_lo);
    OFF(kvm_irq_routing_entry, u.msi.address_hi); OFF(kvm_irq_routing_entry, u.msi.data);
    SIZE(kvm_irq_routing); OFF(kvm_irq_routing, nr); OFF(kvm_irq_routing, flags); OFF(kvm_irq_routing, entries);
    SIZE(kvm_ioeventfd); OFF(kvm_ioeventfd, datamatch); OFF(kvm_ioeventfd, addr); OFF(kvm_ioeventfd, len);
    OFF(kvm_ioeventfd, fd); OFF(kvm_ioeventfd, flags);
    OFF(kvm_run, request_interrupt_window); OFF(kvm_run, immediate_exit); OFF(kvm_run, exit_reason);
    OFF(kvm_run, ready_for_interrupt_injection); OFF(kvm_run, if_flag); OFF(kvm_run, flags); OFF(kvm_run, cr8);
    OFF(kvm_run, apic_base); OFF(kvm_run, hw.hardware_exit_reason);
    OFF(kvm_run, fail_entry.hardware_entry_failure_reason); OFF(kvm_run, fail_entry.cpu);
    OFF(kvm_run, io.direction); OFF(kvm_run, io.size); OFF(kvm_run, io.port); OFF(kvm_run, io.count);
    OFF(kvm_run, io.data_offset); OFF(kvm_run, mmio.phys_addr); OFF(kvm_run, mmio.data); OFF(kvm_run, mmio.len);
    OFF(kvm_run, mmio.is_write); OFF(kvm_run, internal.suberror); OFF(kvm_run, internal.ndata);
    OFF(kvm_run, internal.data); OFF(kvm_run, system_event.type); OFF(kvm_run, system_event.ndata);
    OFF(kvm_run, system_event.data);

    VAL(KVM_API_VERSION);
    VAL(KVM_GET_API_VERSION); VAL(KVM_CREATE_VM); VAL(KVM_CHECK_EXTENSION); VAL(KVM_GET_VCPU_MMAP_SIZE);
    VAL(KVM_GET_SUPPORTED_CPUID); VAL(KVM_CREATE_VCPU); VAL(KVM_SET_USER_MEMORY_REGION); VAL(KVM_SET_TSS_ADDR);
    VAL(KVM_SET_IDENTITY_MAP_ADDR); VAL(KVM_CREATE_IRQCHIP); VAL(KVM_IRQ_LINE); VAL(KVM_SET_GSI_ROUTING);
    VAL(KVM_IRQFD); VAL(KVM_CREATE_PIT2); VAL(KVM_IOEVENTFD); VAL(KVM_SIGNAL_MSI); VAL(KVM_RUN);
    VAL(KVM_GET_REGS); VAL(KVM_SET_REGS); VAL(KVM_GET_SREGS); VAL(KVM_SET_SREGS); VAL(KVM_SET_MSRS); VAL(KVM_SET_SIGNAL_MASK);
    VAL(KVM_GET_FPU); VAL(KVM_SET_FPU); VAL(KVM_GET_LAPIC); VAL(KVM_SET_LAPIC); VAL(KVM_SET_CPUID2); VAL(KVM_SET_XCRS);
    VAL(KVM_CAP_IRQCHIP); VAL(KVM_CAP_HLT); VAL(KVM_CAP_USER_MEMORY); VAL(KVM_CAP_SET_TSS_ADDR);
    VAL(KVM_CAP_EXT_CPUID); VAL(KVM_CAP_NR_VCPUS); VAL(KVM_CAP_IRQ_ROUTING); VAL(KVM_CAP_IRQFD); VAL(KVM_CAP_PIT2);
    VAL(KVM_CAP_IOEVENTFD); VAL(KVM_CAP_MAX_VCPUS); VAL(KVM_CAP_SIGNAL_MSI); VAL(KVM_CAP_IMMEDIATE_EXIT); VAL(KVM_CAP_XCRS);
    VAL(KVM_CAP_TSC_DEADLINE_TIMER);
    VAL(KVM_EXIT_UNKNOWN); VAL(KVM_EXIT_EXCEPTION); VAL(KVM_EXIT_IO); VAL(KVM_EXIT_HYPERCALL); VAL(KVM_EXIT_DEBUG);
    VAL(KVM_EXIT_HLT); VAL(KVM_EXIT_MMIO); VAL(KVM_EXIT_IRQ_WINDOW_OPEN); VAL(KVM_EXIT_SHUTDOWN);
    VAL(KVM_EXIT_FAIL_ENTRY); VAL(KVM_EXIT_INTR); VAL(KVM_EXIT_NMI); VAL(KVM_EXIT_INTERNAL_ERROR);
    VAL(KVM_EXIT_SYSTEM_EVENT); VAL(KVM_SYSTEM_EVENT_SHUTDOWN); VAL(KVM_SYSTEM_EVENT_RESET);
    VAL(KVM_SYSTEM_EVENT_CRASH); VAL(KVM_EXIT_IO_IN); VAL(KVM_EXIT_IO_OUT);
    VAL(KVM_IRQFD_FLAG_DEASSIGN); VAL(KVM_IOEVENTFD_FLAG_DATAMATCH); VAL(KVM_IOEVENTFD_FLAG_PIO);
    VAL(KVM_IOEVENTFD_FLAG_DEASSIGN); VAL(KVM_PIT_SPEAKER_DUMMY); VAL(KVM_IRQ_ROUTING_IRQCHIP);
    VAL(KVM_IRQ_ROUTING_MSI); VAL(KVM_IRQCHIP_PIC_MASTER); VAL(KVM_IRQCHIP_PIC_SLAVE); VAL(KVM_IRQCHIP_IOAPIC);
}

static void x86_boot(void)
{
    SIZE(boot_params); OFF(boot_params, acpi_rsdp_addr); OFF(boot_params, ext_ramdisk_image);
    OFF(boot_params, ext_ramdisk_size); OFF(boot_params, ext_cmd_line_ptr); OFF(boot_params, e820_entries);
    OFF(boot_params, e820_table); OFF(boot_params, hdr); OFF(boot_params, hdr.setup_sects);
    OFF(boot_params, hdr.boot_flag); OFF(boot_params, hdr.jump); OFF(boot_params, hdr.header);
    OFF(boot_params, hdr.version); OFF(boot_params, hdr.type_of_loader); OFF(boot_params, hdr.loadflags);
    OFF(boot_params, hdr.code32_start); OFF(boot_params, hdr.ramdisk_image); OFF(boot_params, hdr.ramdisk_size);
    OFF(boot_params, hdr.heap_end_ptr); OFF(boot_params, hdr.cmd_line_ptr); OFF(boot_params, hdr.initrd_addr_max);
    OFF(boot_params, hdr.kernel_alignment); OFF(boot_params, hdr.relocatable_kernel); OFF(boot_params, hdr.xloadflags);
    OFF(boot_params, hdr.cmdline_size); OFF(boot_params, hdr.pref_address); OFF(boot_params, hdr.init_size);
    SIZE(boot_e820_entry); OFF(boot_e820_entry, addr); OFF(boot_e820_entry, size); OFF(boot_e820_entry, type);
    VAL(E820_MAX_ENTRIES_ZEROPAGE); VAL(LOADED_HIGH); VAL(CAN_USE_HEAP); VAL(XLF_KERNEL_64);
}

static void virtio_pci(void)
{
    SIZE(virtio_pci_cap); OFF(virtio_pci_cap, cap_len); OFF(virtio_pci_cap, cfg_type); OFF(virtio_pci_cap, bar);
    OFF(virtio_pci_cap, id); OFF(virtio_pci_cap, offset); OFF(virtio_pci_cap, length);
    SIZE(virtio_pci_notify_cap); OFF(virtio_pci_notify_cap, notify_off_multiplier);
    SIZE(virtio_pci_cfg_cap); OFF(virtio_pci_cfg_cap, pci_cfg_data);
    SIZE(virtio_pci_common_cfg); OFF(virtio_pci_common_cfg, device_feature_select); OFF(virtio_pci_common_cfg, device_feature);
    OFF(virtio_pci_common_cfg, guest_feature_select); OFF(virtio_pci_common_cfg, guest_feature);
    OFF(virtio_pci_common_cfg, msix_config); OFF(virtio_pci_common_cfg, num_queues); OFF(virtio_pci_common_cfg, device_status);
    OFF(virtio_pci_common_cfg, config_generation); OFF(virtio_pci_common_cfg, queue_select); OFF(virtio_pci_common_cfg, queue_size);
    OFF(virtio_pci_common_cfg, queue_msix_vector); OFF(virtio_pci_common_cfg, queue_enable);
    OFF(virtio_pci_common_cfg, queue_notify_off); OFF(virtio_pci_common_cfg, queue_desc_lo);
    OFF(virtio_pci_common_cfg, queue_avail_lo); OFF(virtio_pci_common_cfg, queue_used_lo);
    VAL(VIRTIO_PCI_CAP_COMMON_CFG); VAL(VIRTIO_PCI_CAP_NOTIFY_CFG); VAL(VIRTIO_PCI_CAP_ISR_CFG);
    VAL(VIRTIO_PCI_CAP_DEVICE_CFG); VAL(VIRTIO_PCI_CAP_PCI_CFG); VAL(VIRTIO_MSI_NO_VECTOR);
    VAL(VIRTIO_PCI_ISR_CONFIG);
}

static void gpu(void)
{
    SIZE(virtio_gpu_ctrl_hdr); OFF(virtio_gpu_ctrl_hdr, type); OFF(virtio_gpu_ctrl_hdr, flags);
    OFF(virtio_gpu_ctrl_hdr, fence_id); OFF(virtio_gpu_ctrl_hdr, ctx_id); OFF(virtio_gpu_ctrl_hdr, ring_idx);
    SIZE(virtio_gpu_rect); OFF(virtio_gpu_rect, x); OFF(virtio_gpu_rect, y); OFF(virtio_gpu_rect, width); OFF(virtio_gpu_rect, height);
    SIZE(virtio_gpu_config); OFF(virtio_gpu_config, events_read); OFF(virtio_gpu_config, events_clear);
    OFF(virtio_gpu_config, num_scanouts); OFF(virtio_gpu_config, num_capsets);
    SIZE(virtio_gpu_resource_create_2d); OFF(virtio_gpu_resource_create_2d, hdr); OFF(virtio_gpu_resource_create_2d, resource_id);
    OFF(virtio_gpu_resource_create_2d, format); OFF(virtio_gpu_resource_create_2d, width); OFF(virtio_gpu_resource_create_2d, height);
    SIZE(virtio_gpu_resource_unref); OFF(virtio_gpu_resource_unref, resource_id);
    SIZE(virtio_gpu_resource_detach_backing); OFF(virtio_gpu_resource_detach_backing, resource_id);
    SIZE(virtio_gpu_set_scanout); OFF(virtio_gpu_set_scanout, r); OFF(virtio_gpu_set_scanout, scanout_id); OFF(virtio_gpu_set_scanout, resource_id);
    SIZE(virtio_gpu_resource_flush); OFF(virtio_gpu_resource_flush, r); OFF(virtio_gpu_resource_flush, resource_id);
    SIZE(virtio_gpu_transfer_to_host_2d); OFF(virtio_gpu_transfer_to_host_2d, r); OFF(virtio_gpu_transfer_to_host_2d, offset);
    OFF(virtio_gpu_transfer_to_host_2d, resource_id);
    SIZE(virtio_gpu_resource_attach_backing); OFF(virtio_gpu_resource_attach_backing, resource_id); OFF(virtio_gpu_resource_attach_backing, nr_entries);
    SIZE(virtio_gpu_mem_entry); OFF(virtio_gpu_mem_entry, addr); OFF(virtio_gpu_mem_entry, length);
    SIZE(virtio_gpu_cmd_get_edid); OFF(virtio_gpu_cmd_get_edid, scanout);
    SIZE(virtio_gpu_resp_edid); OFF(virtio_gpu_resp_edid, size); OFF(virtio_gpu_resp_edid, edid);
    SIZE(virtio_gpu_cursor_pos); OFF(virtio_gpu_cursor_pos, scanout_id); OFF(virtio_gpu_cursor_pos, x); OFF(virtio_gpu_cursor_pos, y);
    SIZE(virtio_gpu_update_cursor); OFF(virtio_gpu_update_cursor, pos); OFF(virtio_gpu_update_cursor, resource_id);
    OFF(virtio_gpu_update_cursor, hot_x); OFF(virtio_gpu_update_cursor, hot_y);
    SIZE(virtio_gpu_resp_display_info); OFF(virtio_gpu_resp_display_info, pmodes);
    SIZE(virtio_gpu_display_one); OFF(virtio_gpu_display_one, r); OFF(virtio_gpu_display_one, enabled); OFF(virtio_gpu_display_one, flags);
    SIZE(virtio_gpu_get_capset_info); OFF(virtio_gpu_get_capset_info, capset_index);
    SIZE(virtio_gpu_resp_capset_info); OFF(virtio_gpu_resp_capset_info, capset_id); OFF(virtio_gpu_resp_capset_info, capset_max_version);
    OFF(virtio_gpu_resp_capset_info, capset_max_size);
    SIZE(virtio_gpu_get_capset); OFF(virtio_gpu_get_capset, capset_id); OFF(virtio_gpu_get_capset, capset_version);
    SIZE(virtio_gpu_ctx_create); OFF(virtio_gpu_ctx_create, nlen); OFF(virtio_gpu_ctx_create, context_init); OFF(virtio_gpu_ctx_create, debug_name);
    SIZE(virtio_gpu_ctx_resource); OFF(virtio_gpu_ctx_resource, resource_id);
    SIZE(virtio_gpu_box); OFF(virtio_gpu_box, x); OFF(virtio_gpu_box, y); OFF(virtio_gpu_box, z);
    OFF(virtio_gpu_box, w); OFF(virtio_gpu_box, h); OFF(virtio_gpu_box, d);
    SIZE(virtio_gpu_transfer_host_3d); OFF(virtio_gpu_transfer_host_3d, box); OFF(virtio_gpu_transfer_host_3d, offset);
    OFF(virtio_gpu_transfer_host_3d, resource_id); OFF(virtio_gpu_transfer_host_3d, level); OFF(virtio_gpu_transfer_host_3d, stride);
    OFF(virtio_gpu_transfer_host_3d, layer_stride);
    SIZE(virtio_gpu_cmd_submit); OFF(virtio_gpu_cmd_submit, size);
    SIZE(virtio_gpu_resource_create_3d); OFF(virtio_gpu_resource_create_3d, resource_id); OFF(virtio_gpu_resource_create_3d, target);
    OFF(virtio_gpu_resource_create_3d, format); OFF(virtio_gpu_resource_create_3d, bind); OFF(virtio_gpu_resource_create_3d, width);
    OFF(virtio_gpu_resource_create_3d, height); OFF(virtio_gpu_resource_create_3d, depth); OFF(virtio_gpu_resource_create_3d, array_size);
    OFF(virtio_gpu_resource_create_3d, last_level); OFF(virtio_gpu_resource_create_3d, nr_samples); OFF(virtio_gpu_resource_create_3d, flags);
    VAL(VIRTIO_GPU_F_VIRGL); VAL(VIRTIO_GPU_F_EDID); VAL(VIRTIO_GPU_F_RESOURCE_UUID); VAL(VIRTIO_GPU_F_RESOURCE_BLOB); VAL(VIRTIO_GPU_F_CONTEXT_INIT);
    VAL(VIRTIO_GPU_FLAG_FENCE); VAL(VIRTIO_GPU_FLAG_INFO_RING_IDX); VAL(VIRTIO_GPU_EVENT_DISPLAY); VAL(VIRTIO_GPU_MAX_SCANOUTS);
    VAL(VIRTIO_GPU_CMD_GET_DISPLAY_INFO); VAL(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D); VAL(VIRTIO_GPU_CMD_RESOURCE_UNREF);
    VAL(VIRTIO_GPU_CMD_SET_SCANOUT); VAL(VIRTIO_GPU_CMD_RESOURCE_FLUSH); VAL(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D);
    VAL(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING); VAL(VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING); VAL(VIRTIO_GPU_CMD_GET_CAPSET_INFO);
    VAL(VIRTIO_GPU_CMD_GET_CAPSET); VAL(VIRTIO_GPU_CMD_GET_EDID); VAL(VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID);
    VAL(VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB); VAL(VIRTIO_GPU_CMD_SET_SCANOUT_BLOB);
    VAL(VIRTIO_GPU_CMD_CTX_CREATE); VAL(VIRTIO_GPU_CMD_CTX_DESTROY); VAL(VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE);
    VAL(VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE); VAL(VIRTIO_GPU_CMD_RESOURCE_CREATE_3D); VAL(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D);
    VAL(VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D); VAL(VIRTIO_GPU_CMD_SUBMIT_3D); VAL(VIRTIO_GPU_CMD_RESOURCE_MAP_BLOB);
    VAL(VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB); VAL(VIRTIO_GPU_CMD_UPDATE_CURSOR); VAL(VIRTIO_GPU_CMD_MOVE_CURSOR);
    VAL(VIRTIO_GPU_RESP_OK_NODATA); VAL(VIRTIO_GPU_RESP_OK_DISPLAY_INFO); VAL(VIRTIO_GPU_RESP_OK_CAPSET_INFO);
    VAL(VIRTIO_GPU_RESP_OK_CAPSET); VAL(VIRTIO_GPU_RESP_OK_EDID); VAL(VIRTIO_GPU_RESP_OK_RESOURCE_UUID); VAL(VIRTIO_GPU_RESP_OK_MAP_INFO);
    VAL(VIRTIO_GPU_RESP_ERR_UNSPEC); VAL(VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY); VAL(VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    VAL(VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID); VAL(VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID); VAL(VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    VAL(VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM); VAL(VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM); VAL(VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM);
    VAL(VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM); VAL(VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM); VAL(VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM);
    VAL(VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM); VAL(VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM);
    VAL(VIRTIO_GPU_CAPSET_VIRGL); VAL(VIRTIO_GPU_CAPSET_VIRGL2);
}

int main(void)
{
    VAL(LINUX_VERSION_CODE);
    rings();
    config();
    ids();
    blk();
    net();
    vhost();
    kvm();
    x86_boot();
    virtio_pci();
    gpu();
    return 0;
}
