namespace IoVirt.Backends.Net;

/// <summary>
/// Where a network device's packets go and come from: a TAP interface, an echo, a sink, a
/// generator, or a port of a virtual switch. Each packet crosses as a 12-byte virtio-net header
/// (virtio_net_hdr_v1) followed by the Ethernet frame. A queue pair is used by one thread only;
/// different pairs run on different threads.
/// </summary>
public interface INetPort : IDisposable
{
    /// <summary>What it is, for logs (e.g. "tap tap0, 2 queues").</summary>
    string Description { get; }

    /// <summary>Unfinished work the port accepts in packets it is given (the device finishes the rest in software or refuses it).</summary>
    NetOffloads TransmitOffloads { get; }

    /// <summary>Unfinished work the port may hand over in packets for the guest, when the guest accepts it.</summary>
    NetOffloads ReceiveOffloads { get; }

    /// <summary>The guest accepts <paramref name="offloads"/> (a subset of <see cref="ReceiveOffloads"/>) in received packets from now on.</summary>
    void AcceptOffloads(NetOffloads offloads);

    /// <summary>Takes one packet from the guest on queue pair <paramref name="pair"/>; false when it was dropped (the port is full or refused it).</summary>
    bool Transmit(int pair, ReadOnlySpan<byte> packet);

    /// <summary>The end of a burst of <see cref="Transmit"/> calls on <paramref name="pair"/>.</summary>
    void TransmitBurstDone(int pair);

    /// <summary>Writes the next packet for the guest into <paramref name="destination"/> and returns its length; 0 when there is none.</summary>
    int Receive(int pair, Span<byte> destination);

    /// <summary>The device was reset (its front end went away): packets held for the guest are dropped, so the next front end never sees them.</summary>
    void Reset();

    /// <summary>A descriptor that becomes readable (edge) when <see cref="Receive"/> has packets for <paramref name="pair"/>; -1 when guest kicks (and <see cref="HasPacketsFromSameThread"/>) are wake-up enough.</summary>
    int ReceiveEventSource(int pair);

    /// <summary>
    /// Whether <see cref="Receive"/> has packets for <paramref name="pair"/> that this pair's own
    /// thread put there (by <see cref="Transmit"/>), which no descriptor announces: the device
    /// receives them before its thread sleeps. Only that thread asks.
    /// </summary>
    bool HasPacketsFromSameThread(int pair) => false;
}
