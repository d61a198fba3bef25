namespace IoVirt.Abi.VhostUser;

/// <summary>
/// vhost-user protocol features (vhost-user.rst, "Protocol features"), negotiated with
/// GET/SET_PROTOCOL_FEATURES once <see cref="Virtio.VirtioFeature.VhostUserProtocolFeatures"/> is
/// offered. A flags type of its own, so a protocol bit cannot be tested against a virtio feature word.
/// </summary>
[Flags]
#pragma warning disable CA1711 // "Features" is the protocol's own word for this set
public enum VhostUserProtocolFeatures : ulong
#pragma warning restore CA1711
{
    None = 0,

    /// <summary>GET_QUEUE_NUM is available.</summary>
    Mq = 1UL << 0,

    /// <summary>SET_LOG_BASE carries a shared-memory fd.</summary>
    LogShmfd = 1UL << 1,

    /// <summary>SEND_RARP is available.</summary>
    Rarp = 1UL << 2,

    /// <summary>The NEED_REPLY flag is honoured on every request.</summary>
    ReplyAck = 1UL << 3,

    /// <summary>NET_SET_MTU is available (VHOST_USER_PROTOCOL_F_MTU in the spec's table).</summary>
    NetMtu = 1UL << 4,

    /// <summary>The back-end channel (SET_BACKEND_REQ_FD) is available.</summary>
    BackendReq = 1UL << 5,

    /// <summary>SET_VRING_ENDIAN is available.</summary>
    CrossEndian = 1UL << 6,

    CryptoSession = 1UL << 7,

    /// <summary>Postcopy migration with userfaultfd.</summary>
    Pagefault = 1UL << 8,

    /// <summary>GET_CONFIG and SET_CONFIG are available.</summary>
    Config = 1UL << 9,

    /// <summary>The back-end may pass fds on its channel.</summary>
    BackendSendFd = 1UL << 10,

    HostNotifier = 1UL << 11,

    /// <summary>GET_INFLIGHT_FD and SET_INFLIGHT_FD are available.</summary>
    InflightShmfd = 1UL << 12,

    ResetDevice = 1UL << 13,

    /// <summary>Kicks, calls and errors may travel as messages.</summary>
    InbandNotifications = 1UL << 14,

    /// <summary>GET_MAX_MEM_SLOTS, ADD_MEM_REG and REM_MEM_REG are available.</summary>
    ConfigureMemSlots = 1UL << 15,

    /// <summary>SET_STATUS and GET_STATUS are available.</summary>
    Status = 1UL << 16,

    /// <summary>Memory regions carry Xen mmap flags and a domain id.</summary>
    XenMmap = 1UL << 17,

    SharedObject = 1UL << 18,

    /// <summary>SET_DEVICE_STATE_FD and CHECK_DEVICE_STATE are available.</summary>
    DeviceState = 1UL << 19,

    /// <summary>VIRTIO shared memory regions (GET_SHMEM_CONFIG, SHMEM_MAP/UNMAP); SHMEM extension.</summary>
    Shmem = 1UL << 20,
}
