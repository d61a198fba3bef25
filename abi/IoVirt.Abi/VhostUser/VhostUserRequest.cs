namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Request codes the front-end sends to the back-end (vhost-user.rst, "Front-end message types").
/// The payload each one carries is named in its comment.
/// </summary>
public enum VhostUserRequest : uint
{
    /// <summary>Reply: u64 of virtio and vhost feature bits.</summary>
    GetFeatures = 1,
    /// <summary>u64 of the features the front-end accepts.</summary>
    SetFeatures = 2,
    /// <summary>No payload: the sender now owns the session.</summary>
    SetOwner = 3,
    /// <summary>Deprecated; no payload.</summary>
    ResetOwner = 4,
    /// <summary>Memory table (<see cref="VhostUserMemoryHeader"/> and regions), one fd per region.</summary>
    SetMemTable = 5,
    /// <summary>With LOG_SHMFD a <see cref="VhostUserLog"/> and an fd; otherwise a u64.</summary>
    SetLogBase = 6,
    /// <summary>No payload; an eventfd in the ancillary data.</summary>
    SetLogFd = 7,
    /// <summary><see cref="VhostUserVringState"/>: ring index and queue size.</summary>
    SetVringNum = 8,
    /// <summary><see cref="VhostUserVringAddr"/>.</summary>
    SetVringAddr = 9,
    /// <summary><see cref="VhostUserVringState"/>: ring index and next indices (<see cref="VhostUserVringBase"/>).</summary>
    SetVringBase = 10,
    /// <summary><see cref="VhostUserVringState"/>; stops the ring and replies with its indices.</summary>
    GetVringBase = 11,
    /// <summary>u64 ring index (<see cref="VhostUserVringIndex"/>) and the kick eventfd.</summary>
    SetVringKick = 12,
    /// <summary>u64 ring index (<see cref="VhostUserVringIndex"/>) and the call eventfd.</summary>
    SetVringCall = 13,
    /// <summary>u64 ring index (<see cref="VhostUserVringIndex"/>) and the error eventfd.</summary>
    SetVringErr = 14,
    /// <summary>Reply: u64 of <see cref="VhostUserProtocolFeatures"/>.</summary>
    GetProtocolFeatures = 15,
    /// <summary>u64 of the protocol features the front-end accepts.</summary>
    SetProtocolFeatures = 16,
    /// <summary>Reply: u64 count of queues the back-end supports (needs MQ).</summary>
    GetQueueNum = 17,
    /// <summary><see cref="VhostUserVringState"/>: ring index and 1 to enable, 0 to disable.</summary>
    SetVringEnable = 18,
    /// <summary>u64 whose first six bytes are the guest MAC (needs RARP).</summary>
    SendRarp = 19,
    /// <summary>u64 MTU (needs NET_MTU).</summary>
    NetSetMtu = 20,
    /// <summary>No payload; the back-end channel socket in the ancillary data (formerly SET_SLAVE_REQ_FD).</summary>
    SetBackendReqFd = 21,
    /// <summary><see cref="VhostUserIotlbMsg"/>; reply u64, zero on success.</summary>
    IotlbMsg = 22,
    /// <summary><see cref="VhostUserVringState"/>: ring index and 0 little- or 1 big-endian (needs CROSS_ENDIAN).</summary>
    SetVringEndian = 23,
    /// <summary><see cref="VhostUserConfigHeader"/> and data; the reply carries the same (needs CONFIG).</summary>
    GetConfig = 24,
    /// <summary><see cref="VhostUserConfigHeader"/> and the bytes to write (needs CONFIG).</summary>
    SetConfig = 25,
    /// <summary>Crypto session description; needs CRYPTO_SESSION.</summary>
    CreateCryptoSession = 26,
    /// <summary>u64 session id; needs CRYPTO_SESSION.</summary>
    CloseCryptoSession = 27,
    /// <summary>No payload; the reply carries a userfaultfd (needs PAGEFAULT).</summary>
    PostcopyAdvise = 28,
    /// <summary>No payload; postcopy has begun.</summary>
    PostcopyListen = 29,
    /// <summary>No payload; reply u64, zero on success.</summary>
    PostcopyEnd = 30,
    /// <summary><see cref="VhostUserInflight"/>; the reply carries the inflight area fd (needs INFLIGHT_SHMFD).</summary>
    GetInflightFd = 31,
    /// <summary><see cref="VhostUserInflight"/> and the inflight area fd.</summary>
    SetInflightFd = 32,
    /// <summary>No payload; the vhost-user-gpu socket in the ancillary data.</summary>
    GpuSetSocket = 33,
    /// <summary>No payload; reset the device to its initial state (needs RESET_DEVICE).</summary>
    ResetDevice = 34,
    /// <summary><see cref="VhostUserVringState"/>: in-band kick (needs INBAND_NOTIFICATIONS).</summary>
    VringKick = 35,
    /// <summary>Reply: u64 count of memory slots (needs CONFIGURE_MEM_SLOTS).</summary>
    GetMaxMemSlots = 36,
    /// <summary><see cref="VhostUserSingleMemoryRegion"/> and its fd.</summary>
    AddMemReg = 37,
    /// <summary><see cref="VhostUserSingleMemoryRegion"/> to unmap.</summary>
    RemMemReg = 38,
    /// <summary>u64 virtio device status (needs STATUS).</summary>
    SetStatus = 39,
    /// <summary>Reply: u64 virtio device status (needs STATUS).</summary>
    GetStatus = 40,
    /// <summary><see cref="VhostUserShared"/>; the reply carries a dma-buf fd (needs SHARED_OBJECT).</summary>
    GetSharedObject = 41,
    /// <summary><see cref="VhostUserDeviceStateTransfer"/> and a pipe fd; reply u64 (needs DEVICE_STATE).</summary>
    SetDeviceStateFd = 42,
    /// <summary>No payload; reply u64, zero when the state transfer succeeded (needs DEVICE_STATE).</summary>
    CheckDeviceState = 43,
    /// <summary>
    /// No payload; the reply describes the back-end's VIRTIO shared memory regions (needs SHMEM). From
    /// the SHMEM extension, which rust-vmm implements; the QEMU text checked here ends at 43.
    /// </summary>
    GetShmemConfig = 44,
}
