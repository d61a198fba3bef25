using IoVirt.Abi.VhostUser;
using IoVirt.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.VhostUser;

/// <summary>
/// What a vhost-user back end does for each front-end request, one typed method per message (the
/// counterpart of <see cref="VhostUserFrontend"/>). <see cref="BackendRequestDispatcher"/> calls
/// these only for well-formed messages: header, payload size, descriptor count and the protocol
/// feature the request belongs to are checked before. A method refuses a request by throwing
/// <see cref="VhostUserProtocolException"/>; the dispatcher then answers with an error or ends
/// the connection, as the protocol says.
/// </summary>
/// <remarks>
/// Descriptors: an <see cref="EventFd"/> or a state pipe passed in belongs to the handler from
/// the call on, also when it throws. A <see cref="SafeFileHandle"/> of a memory region, a log
/// or an inflight buffer is only lent: the dispatcher closes it after the call.
/// </remarks>
public interface IVhostUserBackendHandler
{
    ulong GetFeatures();

    void SetFeatures(ulong features);

    VhostUserProtocolFeatures GetProtocolFeatures();

    void SetProtocolFeatures(VhostUserProtocolFeatures features);

    void SetOwner();

    void ResetOwner();

    ulong GetQueueNum();

    ulong GetMaxMemSlots();

    /// <summary>SET_MEM_TABLE: <paramref name="files"/>[i] backs <paramref name="regions"/>[i].</summary>
    void SetMemTable(ReadOnlySpan<VhostUserMemoryRegion> regions, ReadOnlySpan<SafeFileHandle> files);

    void AddMemoryRegion(VhostUserMemoryRegion region, SafeFileHandle file);

    void RemoveMemoryRegion(VhostUserMemoryRegion region);

    void SetVringNum(uint index, uint size);

    void SetVringAddr(VhostUserVringAddr address);

    void SetVringBase(uint index, uint value);

    /// <summary>GET_VRING_BASE: stops the ring and returns where it stopped.</summary>
    uint GetVringBase(uint index);

    /// <summary>SET_VRING_KICK; a null <paramref name="kick"/> asks the back end to poll the ring.</summary>
    void SetVringKick(uint index, EventFd? kick);

    void SetVringCall(uint index, EventFd? call);

    void SetVringErr(uint index, EventFd? err);

    void SetVringEnable(uint index, bool enable);

    /// <summary>GET_CONFIG: fills <paramref name="destination"/> from <paramref name="offset"/>; false when the range is not in the config space.</summary>
    bool GetConfig(uint offset, Span<byte> destination);

    void SetConfig(uint offset, ReadOnlySpan<byte> data);

    /// <summary>SET_LOG_BASE: the dirty log to mark written pages in, in <paramref name="file"/>.</summary>
    void SetLogBase(VhostUserLog log, SafeFileHandle file);

    /// <summary>SET_DEVICE_STATE_FD: begins moving the device's state through <paramref name="pipe"/>.</summary>
    void SetDeviceStateFd(VhostUserTransferDirection direction, VhostUserMigrationPhase phase, SafeFileHandle pipe);

    /// <summary>GPU_SET_SOCKET: the socket of the vhost-user-gpu display protocol, to the front end's display.</summary>
    void SetGpuSocket(SafeFileHandle socket);

    /// <summary>SEND_RARP: the guest with this MAC (the first six bytes) has just migrated here; announce it to the network.</summary>
    void SendRarp(ReadOnlySpan<byte> mac);

    /// <summary>CHECK_DEVICE_STATE: whether the transfer begun last went through.</summary>
    bool CheckDeviceState();

    /// <summary>GET_INFLIGHT_FD: a new inflight buffer for <paramref name="request"/>'s queues, described and returned in <paramref name="file"/>.</summary>
    VhostUserInflight GetInflightFd(VhostUserInflight request, out SafeFileHandle file);

    void SetInflightFd(VhostUserInflight description, SafeFileHandle file);

    void ResetDevice();

    void SetStatus(byte status);

    byte GetStatus();
}
