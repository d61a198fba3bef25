namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Request codes the back-end sends to the front-end on the channel set by SET_BACKEND_REQ_FD
/// (vhost-user.rst, "Back-end message types"; formerly the VHOST_USER_SLAVE_* names).
/// </summary>
public enum VhostUserBackendRequest : uint
{
    /// <summary><see cref="VhostUserIotlbMsg"/>: an IOTLB miss or access failure.</summary>
    IotlbMsg = 1,
    /// <summary>No payload: the device config space changed (needs CONFIG).</summary>
    ConfigChangeMsg = 2,
    /// <summary><see cref="VhostUserVringArea"/> and an fd to map as the queue's notify area (needs HOST_NOTIFIER).</summary>
    VringHostNotifierMsg = 3,
    /// <summary><see cref="VhostUserVringState"/>: in-band used-buffer notification (needs INBAND_NOTIFICATIONS).</summary>
    VringCall = 4,
    /// <summary><see cref="VhostUserVringState"/>: in-band ring error (needs INBAND_NOTIFICATIONS).</summary>
    VringErr = 5,
    /// <summary><see cref="VhostUserShared"/>: register as exporter of an object (needs SHARED_OBJECT).</summary>
    SharedObjectAdd = 6,
    /// <summary><see cref="VhostUserShared"/>: withdraw an exported object.</summary>
    SharedObjectRemove = 7,
    /// <summary><see cref="VhostUserShared"/>: ask for an object's dma-buf fd; reply u64 and the fd.</summary>
    SharedObjectLookup = 8,
    /// <summary>Map an fd into a VIRTIO shared memory region (SHMEM extension, see <see cref="VhostUserRequest.GetShmemConfig"/>).</summary>
    ShmemMap = 9,
    /// <summary>Unmap a range of a VIRTIO shared memory region (SHMEM extension).</summary>
    ShmemUnmap = 10,
}
