using IoVirt.Abi.Net;
using IoVirt.Interop;

namespace IoVirt.Backends.Net.Switching;

/// <summary>
/// A guest's port on a <see cref="NetSwitch"/>: what the guest transmits goes to the switch,
/// which forwards it to other ports' inbound queues; what arrives waits in this port's bounded
/// inbound queue until the guest has receive buffers. The port owns one MAC and at most one
/// VLAN: frames from any other source MAC are dropped and counted.
/// </summary>
public sealed class SwitchPort : INetPort
{
    /// <summary>Frames an inbound queue holds; more are dropped and counted.</summary>
    public const int InboundFrames = 256;

    private readonly NetSwitch _switch;
    private readonly byte[] _mac;
    private readonly byte[][] _inbound;
    private readonly int[] _lengths = new int[InboundFrames];
    private readonly object _gate = new();
    private readonly EventFd _ready = EventFd.Create();
    private int _head;
    private int _count;

    internal SwitchPort(NetSwitch owner, string name, ReadOnlySpan<byte> mac, ushort vlan, int weight, SwitchCounters counters, int uplinkQueue, int slotBytes)
    {
        Counters = counters;
        _switch = owner;
        Name = name;
        _mac = mac[..6].ToArray();
        Vlan = vlan;
        Weight = weight;
        UplinkQueue = uplinkQueue;
        _inbound = new byte[InboundFrames][];
        for (var i = 0; i < InboundFrames; i++)
        {
            _inbound[i] = GC.AllocateUninitializedArray<byte>(slotBytes);
        }
    }

    public string Name { get; }

    /// <summary>The only source MAC the guest may use.</summary>
    public ReadOnlySpan<byte> Mac => _mac;

    /// <summary>The VLAN the port is on (0: untagged); ports see only frames of their own VLAN.</summary>
    public ushort Vlan { get; }

    /// <summary>The port's shares of the uplink, against the other ports' weights.</summary>
    public int Weight { get; }

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
        var frame = packet[VirtioNetHdr.Size..];
        if (!frame.Slice(6, 6).SequenceEqual(_mac))
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

    public int Receive(int pair, Span<byte> destination)
    {
        lock (_gate)
        {
            if (_count == 0)
            {
                return 0;
            }

            var length = _lengths[_head];
            _inbound[_head].AsSpan(0, length).CopyTo(destination);
            _head = (_head + 1) % InboundFrames;
            _count--;
            return length;
        }
    }

    public int ReceiveEventSource(int pair) => _ready.Fd;

    /// <summary>Drops what waits for the guest (its front end went away).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _head = _count = 0;
        }
    }

    /// <summary>Queues a packet for the guest; false when the queue is full (counted).</summary>
    internal bool Deliver(ReadOnlySpan<byte> packet)
    {
        lock (_gate)
        {
            if (_count == InboundFrames || packet.Length > _inbound[0].Length)
            {
                Counters.Overflow();
                return false;
            }

            var tail = (_head + _count) % InboundFrames;
            packet.CopyTo(_inbound[tail]);
            _lengths[tail] = packet.Length;
            _count++;
        }

        // Outside the lock: one write per frame wakes the port's worker (edge-triggered).
        _ready.Signal();
        return true;
    }

    public void Dispose() => _ready.Dispose();
}
