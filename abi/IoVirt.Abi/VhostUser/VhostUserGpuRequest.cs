namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Messages of the vhost-user-gpu display protocol (QEMU docs/interop/vhost-user-gpu.rst), sent
/// by the back end on the socket GPU_SET_SOCKET gave it, each after a <see cref="VhostUserHeader"/>
/// (flags zero; the front end's replies carry <see cref="VhostUserHeaderFlags.Reply"/>).
/// </summary>
public enum VhostUserGpuRequest : uint
{
    None = 0,

    /// <summary>No payload; the reply is a u64 of protocol features.</summary>
    GetProtocolFeatures = 1,

    /// <summary>A u64 of the protocol features the back end uses; no reply.</summary>
    SetProtocolFeatures = 2,

    /// <summary>No payload; the reply is a virtio_gpu_resp_display_info.</summary>
    GetDisplayInfo = 3,

    /// <summary><see cref="VhostUserGpuCursorPos"/>: move the cursor and show it.</summary>
    CursorPos = 4,

    /// <summary><see cref="VhostUserGpuCursorPos"/>: hide the cursor.</summary>
    CursorPosHide = 5,

    /// <summary><see cref="VhostUserGpuCursorUpdate"/>: a new cursor image and position.</summary>
    CursorUpdate = 6,

    /// <summary><see cref="VhostUserGpuScanout"/>: a scanout's size (zero turns it off).</summary>
    Scanout = 7,

    /// <summary><see cref="VhostUserGpuUpdate"/> followed by the region's pixels (x8r8g8b8).</summary>
    Update = 8,

    DmabufScanout = 9,
    DmabufUpdate = 10,
    GetEdid = 11,
    DmabufScanout2 = 12,
}
