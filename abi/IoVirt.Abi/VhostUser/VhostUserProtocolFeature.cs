namespace IoVirt.Abi.VhostUser;

/// <summary>
/// vhost-user protocol feature bit numbers (vhost-user.rst, "Protocol features"), negotiated with
/// GET/SET_PROTOCOL_FEATURES once <see cref="Virtio.VirtioFeature.VhostUserProtocolFeatures"/> is offered.
/// </summary>
public static class VhostUserProtocolFeature
{
    /// <summary>GET_QUEUE_NUM is available.</summary>
    public const int Mq = 0;

    /// <summary>SET_LOG_BASE carries a shared-memory fd.</summary>
    public const int LogShmfd = 1;

    /// <summary>SEND_RARP is available.</summary>
    public const int Rarp = 2;

    /// <summary>The NEED_REPLY flag is honoured on every request.</summary>
    public const int ReplyAck = 3;

    /// <summary>NET_SET_MTU is available (VHOST_USER_PROTOCOL_F_MTU in the spec's table).</summary>
    public const int NetMtu = 4;

    /// <summary>The back-end channel (SET_BACKEND_REQ_FD) is available.</summary>
    public const int BackendReq = 5;

    /// <summary>SET_VRING_ENDIAN is available.</summary>
    public const int CrossEndian = 6;

    public const int CryptoSession = 7;

    /// <summary>Postcopy migration with userfaultfd.</summary>
    public const int Pagefault = 8;

    /// <summary>GET_CONFIG and SET_CONFIG are available.</summary>
    public const int Config = 9;

    /// <summary>The back-end may pass fds on its channel.</summary>
    public const int BackendSendFd = 10;

    public const int HostNotifier = 11;

    /// <summary>GET_INFLIGHT_FD and SET_INFLIGHT_FD are available.</summary>
    public const int InflightShmfd = 12;

    public const int ResetDevice = 13;

    /// <summary>Kicks, calls and errors may travel as messages.</summary>
    public const int InbandNotifications = 14;

    /// <summary>GET_MAX_MEM_SLOTS, ADD_MEM_REG and REM_MEM_REG are available.</summary>
    public const int ConfigureMemSlots = 15;

    /// <summary>SET_STATUS and GET_STATUS are available.</summary>
    public const int Status = 16;

    /// <summary>Memory regions carry Xen mmap flags and a domain id.</summary>
    public const int XenMmap = 17;

    public const int SharedObject = 18;

    /// <summary>SET_DEVICE_STATE_FD and CHECK_DEVICE_STATE are available.</summary>
    public const int DeviceState = 19;

    /// <summary>VIRTIO shared memory regions (GET_SHMEM_CONFIG, SHMEM_MAP/UNMAP); SHMEM extension.</summary>
    public const int Shmem = 20;
}
