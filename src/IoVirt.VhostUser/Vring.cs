using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Virtqueue;

namespace IoVirt.VhostUser;

/// <summary>
/// One ring as the front end configured it over the control connection. The session thread
/// writes it under the owning worker's gate; the worker runs <see cref="Queue"/> under the same gate.
/// </summary>
internal sealed class Vring(int index)
{
    public int Index { get; } = index;

    public int Size { get; set; }

    public bool HasAddresses { get; set; }

    public ulong DescriptorUserAddress { get; set; }

    public ulong AvailUserAddress { get; set; }

    public ulong UsedUserAddress { get; set; }

    /// <summary>Where the ring starts (SET_VRING_BASE) and, after GET_VRING_BASE, where it stopped.</summary>
    public QueuePosition Base { get; set; } = QueuePosition.Initial;

    public EventFd? Kick { get; set; }

    public EventFd? Call { get; set; }

    public EventFd? Err { get; set; }

    /// <summary>Set when the front end passed no kick descriptor: the worker polls the ring instead.</summary>
    public bool PollsWithoutKick { get; set; }

    public bool Enabled { get; set; }

    /// <summary>The running queue, between start (kick set) and stop (GET_VRING_BASE).</summary>
    public DeviceQueue? Queue { get; set; }

    /// <summary>Memory generation <see cref="Queue"/> was resolved in.</summary>
    public long Generation { get; set; }

    /// <summary>The ring's inflight tracking, once an inflight buffer was given and the ring started.</summary>
    public InflightTracker? Inflight { get; set; }

    /// <summary>A kick or a start is waiting for the worker.</summary>
    public bool Pending { get; set; }

    /// <summary>The device's descriptor the worker waits on for this ring, or -1 (see <see cref="VirtioDeviceModel.QueueEventSource"/>).</summary>
    public int EventSource { get; set; } = -1;

    /// <summary>Puts the ring back to its initial, stopped state and closes its descriptors.</summary>
    public void Clear()
    {
        Size = 0;
        HasAddresses = false;
        Base = QueuePosition.Initial;
        Kick?.Dispose();
        Call?.Dispose();
        Err?.Dispose();
        Kick = Call = Err = null;
        PollsWithoutKick = false;
        Enabled = false;
        Queue = null;
        Inflight = null;
        Pending = false;
    }
}
