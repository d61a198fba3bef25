using IoVirt.Abi.Net;
using IoVirt.Arbitration;

namespace IoVirt.Backends.Net.Switching;

/// <summary>
/// A guest's port on a <see cref="NetSwitch"/>: what the guest transmits goes to the switch,
/// which forwards it to other ports' inbound queues; what arrives waits in this port's inbound
/// queues until the guest has receive buffers. Each source (another port of the VLAN, the
/// uplink) has its own bounded queue, and the guest takes frames from them by weighted deficit
/// round robin, so a flooding source gets only its share of the guest. The port owns one MAC
/// and at most one VLAN: frames from any other source MAC are dropped and counted.
/// </summary>
public sealed class SwitchPort : INetPort
{
    /// <summary>
    /// Frames one sender may have waiting for the port; more are dropped and counted. The port's
    /// pool holds twice this, shared by all senders, none holding more than is still free.
    /// </summary>
    public const int InboundFrames = 256;

    /// <summary>Where the uplink's queue is in <see cref="_inboundQueueOf"/>; a port's is after it, at its number + 1.</summary>
    private const int UplinkSource = 0;

    private readonly NetSwitch _switch;
    private readonly MacAddress _mac;
    private readonly FairFrameQueues _inbound;

    /// <summary>The inbound queue of each source, by source (-1: none); replaced whole under the switch's write lock.</summary>
    private int[] _inboundQueueOf = [];

    internal SwitchPort(NetSwitch owner, string name, MacAddress mac, ushort vlan, int weight, SwitchCounters counters, int number, int uplinkQueue, NetCostModel cost, int slotBytes)
    {
        Counters = counters;
        _switch = owner;
        Name = name;
        _mac = mac;
        Vlan = vlan;
        Weight = weight;
        Number = number;
        UplinkQueue = uplinkQueue;
        // One pool per port whatever the number of senders: a lone sender can fill half of it (InboundFrames), several share it.
        _inbound = new FairFrameQueues(cost, InboundFrames, slotBytes, poolFrames: 2 * InboundFrames);
    }

    public string Name { get; }

    /// <summary>The only source MAC the guest may use.</summary>
    public MacAddress Mac => _mac;

    /// <summary>The VLAN the port is on (0: untagged); ports see only frames of their own VLAN.</summary>
    public ushort Vlan { get; }

    /// <summary>The port's shares of the uplink and of each port it sends to, against the other senders' weights.</summary>
    public int Weight { get; }

    /// <summary>The port's place on its switch (0, 1, … in the order added).</summary>
    internal int Number { get; }

    public SwitchCounters Counters { get; }

    /// <summary>The port's queue for the uplink (-1: the switch has none).</summary>
    internal int UplinkQueue { get; }

    public string Description => $"switch port {Name}";

    /// <summary>None: the sending device finishes partial checksums, so every guest receives finished frames.</summary>
    public NetOffloads TransmitOffloads => NetOffloads.None;

    public NetOffloads ReceiveOffloads => NetOffloads.None;

    public void AcceptOffloads(NetOffloads offloads)
    {
    }

    public bool Transmit(int pair, ReadOnlySpan<byte> packet)
    {
        // The device's transmit check already refuses these; a port takes no one's word for it.
        if (packet.Length < VirtioNetHdr.Size + NetTransmitCheck.EthernetHeader)
        {
            return false;
        }

        var frame = packet[VirtioNetHdr.Size..];
        if (MacAddress.Read(frame[6..]) != _mac)
        {
            Counters.Spoof();
            return false;
        }

        if (_switch.Forward(this, packet))
        {
            Counters.Forward();
        }

        return true;
    }

    public void TransmitBurstDone(int pair)
    {
    }

    public int Receive(int pair, Span<byte> destination) => _inbound.TryDequeue(destination, out _);

    /// <summary>Signalled when frames wait after none did; the worker waits for it edge-triggered, so nothing reads it.</summary>
    public int ReceiveEventSource(int pair) => _inbound.Ready.Fd;

    /// <summary>Drops what waits for the guest (its front end went away).</summary>
    public void Reset() => _inbound.Clear();

    /// <summary>Gives <paramref name="source"/> (null: the uplink) an inbound queue with <paramref name="weight"/> shares of the guest; under the switch's write lock.</summary>
    internal void AddSource(SwitchPort? source, int weight)
    {
        var index = SourceIndex(source);
        var queueOf = _inboundQueueOf;
        if (index >= queueOf.Length)
        {
            queueOf = new int[index + 1];
            queueOf.AsSpan().Fill(-1);
            _inboundQueueOf.CopyTo(queueOf, 0);
        }

        queueOf[index] = _inbound.AddSource(weight);
        _inboundQueueOf = queueOf;
    }

    /// <summary>Queues a packet from <paramref name="from"/> (null: the uplink) for the guest; false when that source's queue is full (counted for both).</summary>
    internal bool Deliver(SwitchPort? from, ReadOnlySpan<byte> packet)
    {
        if (_inbound.TryEnqueue(_inboundQueueOf[SourceIndex(from)], packet, vlan: 0))
        {
            return true;
        }

        Counters.Overflow();
        if (from is null)
        {
            _switch.UplinkCounters.ReceiverOverflow();
        }
        else
        {
            from.Counters.ReceiverOverflow();
        }

        return false;
    }

    private static int SourceIndex(SwitchPort? source) => source is null ? UplinkSource : source.Number + 1;

    public void Dispose() => _inbound.Dispose();
}
