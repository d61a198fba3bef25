using IoVirt.Abi.Net;
using IoVirt.Abi.Virtio;
using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoVirt.Backends.Net;

/// <summary>
/// virtio-net (virtio 1.2 §5.1) in front of an <see cref="INetPort"/>: queue pairs (receive
/// 2n, transmit 2n+1, each pair on one worker), the control queue last, mergeable receive
/// buffers, the receive filter, and the offloads the port can pass through (partial checksums
/// are finished in software for ports that cannot take them), and the announcement of a guest
/// that migrated here (<see cref="MigrationAnnouncement"/>, sent on the first pair).
/// </summary>
public sealed class NetDevice : VirtioDeviceModel, IDisposable
{
    /// <summary>
    /// Packets one call of <see cref="ProcessQueue"/> moves on a ring before the worker publishes
    /// them: the driver starts on a burst while the device fills the next, instead of waiting
    /// for the whole ring.
    /// </summary>
    public const int Burst = 32;

    /// <summary>
    /// How long a worker serving a nic polls its rings after work by default: 32 µs, as QEMU's
    /// iothreads, so that the next burst, from the guest or from the port, needs no wake-up.
    /// </summary>
    public static TimeSpan DefaultBusyPoll { get; } = TimeSpan.FromMicroseconds(32);

    /// <summary>Largest control command accepted (a MAC table of a few hundred entries).</summary>
    private const int MaxControlCommand = 4096;

    private readonly INetPort _port;
    private readonly NetDeviceOptions _options;
    private readonly ILogger _log;
    private readonly byte[] _config = new byte[VirtioNetConfig.Size];
    private readonly NetTransmitter[] _transmitters;
    private readonly NetReceiver[] _receivers;
    private readonly NetCounters[] _counters;
    private readonly NetReceiveFilter _filter;
    private readonly NetControl _control;
    private readonly byte[] _command = new byte[MaxControlCommand];

    // The MAC to announce (its bits) with bit 48 set, or 0: written by any thread, taken by the
    // first pair's transmit worker, which the eventfd wakes (its queue's event source).
    private readonly EventFd _announce = EventFd.Create();
    private long _pendingAnnouncement;
    private const long AnnouncementPending = 1L << 48;

    public NetDevice(INetPort port, NetDeviceOptions options, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(port);
        ArgumentNullException.ThrowIfNull(options);
        if (options.QueuePairs is < 1 or > 64 || options.Mtu is < 68 or > 65535 || options.Mac.IsMulticast)
        {
            throw new ArgumentException("1 to 64 queue pairs, an MTU of 68 to 65535 and a unicast MAC", nameof(options));
        }

        _port = port;
        _options = options;
        _log = log ?? NullLogger.Instance;
        _filter = new NetReceiveFilter(options.Mac);
        _control = new NetControl(_filter, options.QueuePairs)
        {
            MacChanged = () => _filter.Mac.WriteTo(_config.AsSpan(VirtioNetConfig.MacOffset)),
            GuestOffloadsChanged = port.AcceptOffloads,
        };
        _counters = new NetCounters[options.QueuePairs];
        _transmitters = new NetTransmitter[options.QueuePairs];
        _receivers = new NetReceiver[options.QueuePairs];
        for (var i = 0; i < options.QueuePairs; i++)
        {
            _counters[i] = new NetCounters();
            _transmitters[i] = new NetTransmitter(port, i, _counters[i]);
            _receivers[i] = new NetReceiver(port, i, _counters[i], _filter, options.MaxQueueSize);
        }

        WriteConfigSpace();
    }

    public override string Name => "net";

    /// <summary>Per queue pair counters.</summary>
    public IReadOnlyList<NetCounters> Counters => _counters;

    public NetTotals Totals => NetCounters.Sum(_counters);

    /// <summary>Queue index of the control queue.</summary>
    public int ControlQueue => 2 * _options.QueuePairs;

    public override int QueueCount => ControlQueue + 1;

    /// <summary>QEMU and DPDK read GET_QUEUE_NUM of a network back end as queue pairs.</summary>
    public override ulong ReportedQueueNumber => (ulong)_options.QueuePairs;

    public override int MaxQueueSize => _options.MaxQueueSize;

    public override ulong Features
    {
        get
        {
            // IN_ORDER: every queue completes its chains in the order it took them (the receive
            // path holds a packet's buffers and completes them together; a drop returns one at once,
            // never one behind others it holds), so a driver may take its in-order paths.
            var features = RingFeatures
                | VirtioFeature.Bit(VirtioFeature.InOrder)
                | VirtioFeature.Bit(VirtioNetFeature.Mac)
                | VirtioFeature.Bit(VirtioNetFeature.Status)
                | VirtioFeature.Bit(VirtioNetFeature.Mtu)
                | VirtioFeature.Bit(VirtioNetFeature.MrgRxbuf)
                | VirtioFeature.Bit(VirtioNetFeature.CtrlVq)
                | VirtioFeature.Bit(VirtioNetFeature.CtrlRx)
                | VirtioFeature.Bit(VirtioNetFeature.CtrlVlan)
                | VirtioFeature.Bit(VirtioNetFeature.CtrlMacAddr)
                | NetFeatures.HostBits(_port.TransmitOffloads)
                | NetFeatures.GuestBits(_port.ReceiveOffloads);
            if (_port.ReceiveOffloads != NetOffloads.None)
            {
                features |= VirtioFeature.Bit(VirtioNetFeature.CtrlGuestOffloads);
            }

            return _options.QueuePairs > 1 ? features | VirtioFeature.Bit(VirtioNetFeature.Mq) : features;
        }
    }

    public override ReadOnlySpan<byte> ConfigSpace => _config;

    /// <summary>Queue pairs the driver said it uses (VQ_PAIRS_SET), 1 without MQ.</summary>
    public int ActivePairs => _control.ActivePairs;

    public NetReceiveFilter Filter => _filter;

    public override int WorkerGroup(int queueIndex) => queueIndex == ControlQueue ? 0 : queueIndex / 2;

    public override void FeaturesNegotiated(ulong features)
    {
        bool Has(int bit) => (features & VirtioFeature.Bit(bit)) != 0;
        var header = Has(VirtioFeature.Version1) || Has(VirtioNetFeature.MrgRxbuf) ? VirtioNetHdr.Size : VirtioNetHdr.LegacySize;
        var check = new NetTransmitCheck(NetFeatures.HostOffloads(features), NetTransmitCheck.FrameFor(_options.Mtu));
        foreach (var transmitter in _transmitters)
        {
            transmitter.Check = check;
            transmitter.HeaderSize = header;
        }

        foreach (var receiver in _receivers)
        {
            receiver.Mergeable = Has(VirtioNetFeature.MrgRxbuf);
            receiver.HeaderSize = header;
        }

        _filter.VlanFiltering = Has(VirtioNetFeature.CtrlVlan);
        _control.Negotiated = features;
        _port.AcceptOffloads(NetFeatures.GuestOffloads(features));
        _log.LogInformation(
            "net: features {Features:x}: {Header}-byte header, mergeable receive buffers {Mergeable}, offloads to port {Host}, from port {Guest}",
            features, header, Has(VirtioNetFeature.MrgRxbuf), NetFeatures.HostOffloads(features), NetFeatures.GuestOffloads(features));
    }

    public override int QueueEventSource(int queueIndex) => queueIndex switch
    {
        FirstTransmitQueue => _announce.Fd,
        _ when queueIndex < ControlQueue && queueIndex % 2 == 0 => _port.ReceiveEventSource(queueIndex / 2),
        _ => -1,
    };

    public override bool AnnouncesMigration => true;

    public override void AnnounceMigration(ReadOnlySpan<byte> mac)
    {
        Interlocked.Exchange(ref _pendingAnnouncement, (long)MacAddress.Read(mac).Bits | AnnouncementPending);
        _announce.Signal();
    }

    /// <summary>Receive queues keep the guest's buffers until the port has packets.</summary>
    public override bool WaitsForEventSource(int queueIndex) => queueIndex < ControlQueue && queueIndex % 2 == 0;

    /// <summary>A receive queue whose port holds packets its own transmit queue (same worker) put there, and that has buffers for them.</summary>
    public override bool HasUnannouncedWork(int queueIndex) =>
        queueIndex < ControlQueue && queueIndex % 2 == 0 && !_receivers[queueIndex / 2].WaitsForBuffers && _port.HasPacketsFromSameThread(queueIndex / 2);

    public override void ProcessQueue(int queueIndex, DeviceQueue queue)
    {
        if (queueIndex == ControlQueue)
        {
            ProcessControl(queue);
        }
        else if (queueIndex % 2 == 0)
        {
            _receivers[queueIndex / 2].Process(queue);
        }
        else
        {
            if (queueIndex == FirstTransmitQueue)
            {
                SendPendingAnnouncement();
            }

            _transmitters[queueIndex / 2].Process(queue);
        }
    }

    private const int FirstTransmitQueue = 1;

    /// <summary>On the first pair's worker: sends the announcement asked for since the last call, if any.</summary>
    private void SendPendingAnnouncement()
    {
        // Called for every transmit burst: a plain read first, the eventfd (a system call) only
        // when there is something to send. Its epoll watch is edge-triggered, so a count left
        // unread never wakes the worker again; the next request's write does.
        if (Volatile.Read(ref _pendingAnnouncement) == 0)
        {
            return;
        }

        _announce.TryConsume();
        var pending = Interlocked.Exchange(ref _pendingAnnouncement, 0);
        if (pending == 0)
        {
            return;
        }

        var mac = MacAddress.FromBits((ulong)pending);
        Span<byte> packet = stackalloc byte[MigrationAnnouncement.PacketLength];
        MigrationAnnouncement.Write(packet, mac);
        var sent = _port.Transmit(0, packet);
        _port.TransmitBurstDone(0);
        _log.LogInformation("net: announced {Mac} to the network after a migration{Dropped}", mac, sent ? string.Empty : " (the port dropped it)");
    }

    public override void QuiesceQueue(int queueIndex, DeviceQueue queue)
    {
        if (queueIndex < ControlQueue && queueIndex % 2 == 0)
        {
            _receivers[queueIndex / 2].Quiesce(queue);
        }
    }

    public override void Reset()
    {
        Interlocked.Exchange(ref _pendingAnnouncement, 0);
        _port.Reset();
        _filter.Reset(_options.Mac);
        _control.Reset();
        foreach (var receiver in _receivers)
        {
            receiver.Reset();
        }

        WriteConfigSpace();
    }

    /// <summary>
    /// Runs control commands: the readable part is the command (class, command, data), the
    /// first writable byte gets the ack. A chain with no writable byte cannot be answered and is
    /// returned untouched.
    /// </summary>
    private void ProcessControl(DeviceQueue queue)
    {
        while (queue.TryPop(out var chain))
        {
            var length = 0;
            var tooLong = false;
            var ackAddress = ulong.MaxValue;
            while (chain.TryGetNext(out var buffer))
            {
                if (buffer.IsWritable)
                {
                    if (buffer.Length != 0 && ackAddress == ulong.MaxValue)
                    {
                        ackAddress = buffer.GuestAddress;
                    }
                }
                else if (ackAddress != ulong.MaxValue || buffer.Length > (uint)(_command.Length - length))
                {
                    tooLong |= buffer.Length > (uint)(_command.Length - length);
                }
                else
                {
                    tooLong |= queue.Memory.Read(buffer.GuestAddress, _command.AsSpan(length, (int)buffer.Length)) != MemoryFault.None;
                    length += (int)buffer.Length;
                }
            }

            if (chain.Error != QueueError.None)
            {
                return;
            }

            if (ackAddress == ulong.MaxValue)
            {
                _log.LogWarning("net: control command without room for the ack; returned unanswered");
                queue.AddUsed(chain.Head, 0);
                continue;
            }

            var ack = tooLong ? VirtioNetCtrlAck.Error : _control.Execute(_command.AsSpan(0, length));
            _log.LogDebug("net: control class {Class} command {Command}: {Ack}", _command[0], _command[1], ack);
            var written = queue.Memory.Write(ackAddress, [(byte)ack]) == MemoryFault.None ? 1u : 0u;
            queue.AddUsed(chain.Head, written);
        }
    }

    public void Dispose() => _announce.Dispose();

    private void WriteConfigSpace()
    {
        var config = default(VirtioNetConfig);
        var mac = default(VirtioNetMacAddress);
        _options.Mac.WriteTo(mac);
        config.Mac = mac;
        config.Status = VirtioNetStatus.LinkUp;
        config.MaxVirtqueuePairs = (ushort)_options.QueuePairs;
        config.Mtu = (ushort)_options.Mtu;
        config.Speed = VirtioNetConfig.SpeedUnknown;
        config.Duplex = 0xff;
        System.Runtime.InteropServices.MemoryMarshal.Write(_config, in config);
    }
}
