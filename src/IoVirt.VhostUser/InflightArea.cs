using IoVirt.Abi.VhostUser;
using IoVirt.Interop;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.VhostUser;

/// <summary>
/// The shared inflight buffer of INFLIGHT_SHMFD: one area per queue, created by the back end
/// (GET_INFLIGHT_FD) and kept by the front end, which hands it to the next back end after a
/// crash (SET_INFLIGHT_FD). Mapped until disposed.
/// </summary>
internal sealed unsafe class InflightArea : IDisposable
{
    private readonly byte* _base;
    private readonly ulong _length;

    private InflightArea(byte* mapBase, ulong length, int queueCount, int queueSize, bool packed)
    {
        _base = mapBase;
        _length = length;
        QueueCount = queueCount;
        QueueSize = queueSize;
        Packed = packed;
    }

    public int QueueCount { get; }

    public int QueueSize { get; }

    /// <summary>The areas are laid out for packed rings (the format is fixed when the buffer is made).</summary>
    public bool Packed { get; }

    private static int AreaSize(int queueSize, bool packed) =>
        packed ? PackedInflightTracker.AreaSize(queueSize) : SplitInflightTracker.AreaSize(queueSize);

    public static ulong Bytes(int queueCount, int queueSize, bool packed) => (ulong)queueCount * (ulong)AreaSize(queueSize, packed);

    /// <summary>A zeroed buffer in a new memfd, returned for the front end to keep.</summary>
    public static InflightArea Create(int queueCount, int queueSize, bool packed, out SafeFileHandle file)
    {
        var length = Bytes(queueCount, queueSize, packed);
        file = new SafeFileHandle(Mapping.CreateMemfd("iovirt-inflight", length), ownsHandle: true);
        return new InflightArea(Mapping.MapShared((int)file.DangerousGetHandle(), 0, length, writable: true), length, queueCount, queueSize, packed);
    }

    /// <summary>Maps a buffer the front end kept; its description must be one this back end could have made.</summary>
    public static InflightArea Map(SafeFileHandle file, VhostUserInflight description, bool packed)
    {
        if (description.MmapOffset % (ulong)Environment.SystemPageSize != 0
            || description.MmapSize != Bytes(description.NumQueues, description.QueueSize, packed))
        {
            throw new ArgumentException($"inflight buffer of 0x{description.MmapSize:x} bytes at 0x{description.MmapOffset:x} does not fit {description.NumQueues} queues of {description.QueueSize}");
        }

        var fd = (int)file.DangerousGetHandle();
        Mapping.CheckFileRange(fd, description.MmapOffset, description.MmapSize);
        var mapBase = Mapping.MapShared(fd, description.MmapOffset, description.MmapSize, writable: true);
        return new InflightArea(mapBase, description.MmapSize, description.NumQueues, description.QueueSize, packed);
    }

    public InflightTracker TrackerFor(int queue)
    {
        var area = _base + ((ulong)queue * (ulong)AreaSize(QueueSize, Packed));
        return Packed ? new PackedInflightTracker(area, QueueSize) : new SplitInflightTracker(area, QueueSize);
    }

    /// <summary>
    /// Back to the state of a new buffer, nothing in flight: a device reset abandons every
    /// request, and one recorded before it must not be resubmitted on the rings that follow.
    /// </summary>
    public void Forget() => System.Runtime.InteropServices.NativeMemory.Clear(_base, (nuint)_length);

    public void Dispose() => Mapping.Unmap(_base, _length);
}
