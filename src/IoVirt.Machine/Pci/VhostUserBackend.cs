using System.ComponentModel;
using IoVirt.Abi.Blk;
using IoVirt.Abi.Net;
using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.VhostUser;
using IoVirt.Virtqueue;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Machine.Pci;

/// <summary>
/// A virtio device served by a vhost-user back end: a daemon on a Unix socket, or a device model
/// in this process (<see cref="InProcessBackend"/>). The VMM is the front end. The back end maps
/// guest RAM and gets each ring's ioeventfd as its kick and irqfd as its call, so the I/O never
/// passes through the VMM; the VMM only relays negotiation and config. When the back end goes
/// away (it crashed, or was killed and restarted; an in-process session failed), the VMM
/// reconnects and starts its rings again, handing the new back end the inflight buffer the old
/// one kept, so requests in flight are resubmitted, as QEMU does: a split ring from where the
/// guest's used ring stands, a packed ring from the positions in the inflight buffer.
/// </summary>
public sealed class VhostUserBackend : IVirtioBackend
{
    /// <summary>Transport bits passed through: indirect descriptors, event index, VERSION_1, in-order (and the packed ring where asked).</summary>
    private const ulong TransportFeatures = (1UL << 28) | (1UL << 29) | (1UL << 32) | (1UL << 35);
    private const ulong DeviceFeatureMask = (1UL << 24) - 1;
    private const ulong NeedsControlQueue =
        (1UL << VirtioNetFeature.CtrlVq) | (1UL << VirtioNetFeature.CtrlGuestOffloads) | (1UL << VirtioNetFeature.CtrlRx) | (1UL << VirtioNetFeature.CtrlVlan)
        | (1UL << VirtioNetFeature.CtrlRxExtra) | (1UL << VirtioNetFeature.GuestAnnounce) | (1UL << VirtioNetFeature.Mq) | (1UL << VirtioNetFeature.CtrlMacAddr);
    private const VhostUserProtocolFeatures Wanted =
        VhostUserProtocolFeatures.Mq | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.InflightShmfd;

    private readonly Lock _lock = new();
    private readonly Func<VhostUserFrontend> _connect;
    private readonly string _peer;
    private readonly IDisposable? _link;
    private readonly GuestMemory _memory;
    private readonly ILogger _logger;
    private readonly Thread _watcher;
    private VhostUserFrontend _frontend;
    private VhostUserProtocolFeatures _protocol;
    private bool _protocolFeatures;
    private readonly int _configSize;
    private ulong _activeFeatures;
    private IReadOnlyList<VirtioQueueSetup> _activeQueues = [];
    private VhostUserInflight? _inflight;
    private SafeFileHandle? _inflightFile;
    private volatile bool _disposed;

    private VhostUserBackend(Func<VhostUserFrontend> connect, string peer, IDisposable? link, VirtioDeviceId type, GuestMemory memory, bool offerPacked, ILogger logger)
    {
        _connect = connect;
        _peer = peer;
        _link = link;
        _memory = memory;
        _logger = logger;
        DeviceId = type;
        _frontend = Handshake(connect(), out var offered);
        Features = offered & (TransportFeatures | DeviceFeatureMask | (offerPacked ? 1UL << VirtioFeature.RingPacked : 0));
        if ((Features & (1UL << VirtioFeature.Version1)) == 0)
        {
            _frontend.Dispose();
            throw new VirtioBackendException($"{peer} does not offer VERSION_1");
        }

        if (type == VirtioDeviceId.Net)
        {
            // One queue pair; the control queue and multiqueue are the VMM's part of a
            // vhost-user NIC, which this one does not take on yet. Every feature that needs the
            // control queue goes with it: a driver refuses a device offering one without it.
            Features &= ~NeedsControlQueue;
            QueueCount = 2;
        }
        else
        {
            QueueCount = _protocol.HasFlag(VhostUserProtocolFeatures.Mq) ? (int)Math.Clamp(_frontend.GetQueueNum(), 1, 64) : 1;
        }

        _configSize = _protocol.HasFlag(VhostUserProtocolFeatures.Config) ? ConfigSize(type) : 0;
        _watcher = SelfNamedThread.Create($"vhost-user {type}", Watch);
        _watcher.Start();
    }

    public VirtioDeviceId DeviceId { get; }

    public uint PciClass => DeviceId switch
    {
        VirtioDeviceId.Block => 0x01_00_00,
        VirtioDeviceId.Net => 0x02_00_00,
        _ => 0xff_00_00,
    };

    public ulong Features { get; }

    public int QueueCount { get; }

    public int MaxQueueSize => 256;

    /// <summary>
    /// Connects to the back end on <paramref name="socket"/> and learns what it offers;
    /// <see cref="VirtioBackendException"/> when nobody answers there as a back end.
    /// <paramref name="offerPacked"/> offers the guest packed rings (which survive a back-end restart only where the back end keeps an inflight buffer).
    /// </summary>
    public static VhostUserBackend Connect(string socket, VirtioDeviceId type, GuestMemory memory, ILogger logger, bool offerPacked = false) =>
        Create(() => Open(socket), $"the back end on {socket}", link: null, type, memory, offerPacked, logger);

    /// <summary>
    /// Serves <paramref name="backend"/>'s device model in this process, which this device then
    /// owns (disposed with it). <paramref name="offerPacked"/> as for <see cref="Connect"/>.
    /// </summary>
    public static VhostUserBackend InProcess(InProcessBackend backend, VirtioDeviceId type, GuestMemory memory, ILogger logger, bool offerPacked = false)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return Create(backend.Connect, $"the in-process {backend.Device.Name} device", backend, type, memory, offerPacked, logger);
    }

    private static VhostUserBackend Create(Func<VhostUserFrontend> connect, string peer, IDisposable? link, VirtioDeviceId type, GuestMemory memory, bool offerPacked, ILogger logger)
    {
        try
        {
            return new VhostUserBackend(connect, peer, link, type, memory, offerPacked, logger);
        }
        catch (Exception ex) when (IsConnectionFault(ex) && ex is not VirtioBackendException)
        {
            link?.Dispose();
            throw new VirtioBackendException($"{peer} failed the handshake: {ex.Message}", ex);
        }
        catch
        {
            link?.Dispose();
            throw;
        }
    }

    public void ReadConfig(uint offset, Span<byte> data)
    {
        data.Clear();
        if ((ulong)offset + (ulong)data.Length > (ulong)_configSize)
        {
            return;
        }

        lock (_lock)
        {
            try
            {
                var bytes = _frontend.GetConfig(offset, (uint)data.Length);
                bytes.AsSpan(0, Math.Min(bytes.Length, data.Length)).CopyTo(data);
            }
            catch (Exception ex) when (IsConnectionFault(ex))
            {
                // The back end is going away; the watcher reconnects. The guest reads zeros meanwhile.
            }
        }
    }

    public void WriteConfig(uint offset, ReadOnlySpan<byte> data)
    {
        if ((ulong)offset + (ulong)data.Length <= (ulong)_configSize)
        {
            lock (_lock)
            {
                try
                {
                    _frontend.SetConfig(offset, data);
                }
                catch (Exception ex) when (IsConnectionFault(ex))
                {
                    _logger.LogWarning("{Device}: a config write was lost with the back end: {Reason}", DeviceId, ex.Message);
                }
            }
        }
    }

    public void Activate(ulong features, IReadOnlyList<VirtioQueueSetup> queues)
    {
        lock (_lock)
        {
            try
            {
                Start(features, queues, fromGuestRings: false);
                _activeFeatures = features;
                _activeQueues = queues;
            }
            catch (Exception ex) when (IsConnectionFault(ex) || ex is ArgumentException)
            {
                throw new VirtioBackendException($"the {DeviceId} back end refused the rings: {ex.Message}", ex);
            }
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            try
            {
                foreach (var queue in _activeQueues)
                {
                    _frontend.GetVringBase((uint)queue.Index);
                }
            }
            catch (Exception ex) when (IsConnectionFault(ex))
            {
                // The back end is gone; the watcher reconnects, with no rings to start.
            }

            _activeQueues = [];
            _inflight = null;
            _inflightFile?.Dispose();
            _inflightFile = null;
        }
    }

    public void Dispose()
    {
        _disposed = true;
        lock (_lock)
        {
            _frontend.Dispose();
        }

        _watcher.Join();
        _link?.Dispose();
        _inflightFile?.Dispose();
    }

    /// <summary>Sends everything a back end needs to run the rings: features, memory, inflight buffer, and each ring.</summary>
    private void Start(ulong features, IReadOnlyList<VirtioQueueSetup> queues, bool fromGuestRings)
    {
        _frontend.SetFeatures(features | (_protocolFeatures ? 1UL << VirtioFeature.VhostUserProtocolFeatures : 0));
        _frontend.SetMemTable(_memory);
        // The buffer is asked for after SET_FEATURES: its layout depends on the ring format.
        if (_protocol.HasFlag(VhostUserProtocolFeatures.InflightShmfd) && _inflight is null && queues.Count > 0)
        {
            _inflight = _frontend.GetInflightFd((ushort)QueueCount, (ushort)queues.Max(q => q.Size), out var created);
            _inflightFile = created;
        }

        if (_inflight is { } inflight && _inflightFile is { } file)
        {
            _frontend.SetInflightFd(inflight, file);
        }

        var packed = (features & (1UL << VirtioFeature.RingPacked)) != 0;
        foreach (var queue in queues)
        {
            var index = (uint)queue.Index;
            _frontend.SetVringNum(index, (uint)queue.Size);
            _frontend.SetVringAddr(index, HostAddress(queue.Descriptors), HostAddress(queue.Driver), HostAddress(queue.Device));
            // A new back end resumes where the guest's used ring stands; requests it took beyond
            // that are in the inflight buffer, and it resubmits them. A packed ring's positions
            // are not in guest memory: the back end takes them from the inflight buffer.
            var start = packed ? QueuePosition.Initial.ToPackedWord() : fromGuestRings ? UsedIndex(queue) : 0u;
            _frontend.SetVringBase(index, start);
            _frontend.SetVringKick(index, queue.Kick);
            _frontend.SetVringCall(index, queue.Interrupt);
            if (_protocolFeatures)
            {
                _frontend.SetVringEnable(index, true);
            }
        }
    }

    /// <summary>Waits for the back end to go away, then connects to its successor and restarts the rings.</summary>
    private void Watch()
    {
        while (!_disposed)
        {
            if (!_frontend.WaitForHangup(500) || _disposed)
            {
                continue;
            }

            _logger.LogWarning("{Device}: {Peer} went away; waiting for it to return", DeviceId, _peer);
            lock (_lock)
            {
                _frontend.Dispose();
                var attempts = 0;
                while (!_disposed)
                {
                    try
                    {
                        _frontend = Handshake(_connect(), out var offered);
                        if ((offered & Features) != Features)
                        {
                            _logger.LogError("{Device}: after reconnecting, {Peer} offers less (0x{Offered:x}) than the guest may use (0x{Features:x})", DeviceId, _peer, offered, Features);
                        }

                        if (_activeQueues.Count > 0)
                        {
                            if ((_activeFeatures & (1UL << VirtioFeature.RingPacked)) != 0 && _inflight is null)
                            {
                                _logger.LogError("{Device}: {Peer} keeps no inflight buffer, so its packed rings cannot be resumed; the device stays stopped", DeviceId, _peer);
                                break;
                            }

                            Start(_activeFeatures, _activeQueues, fromGuestRings: true);
                        }

                        _logger.LogWarning("{Device}: reconnected to {Peer} after {Attempts} attempts; {Rings} rings resumed", DeviceId, _peer, attempts, _activeQueues.Count);
                        break;
                    }
                    catch (Exception ex) when (IsConnectionFault(ex))
                    {
                        attempts++;
                        Thread.Sleep(100);
                    }
                }
            }
        }
    }

    private VhostUserFrontend Handshake(VhostUserFrontend frontend, out ulong offered)
    {
        try
        {
            offered = frontend.GetFeatures();
            _protocolFeatures = (offered & (1UL << VirtioFeature.VhostUserProtocolFeatures)) != 0;
            _protocol = VhostUserProtocolFeatures.None;
            if (_protocolFeatures)
            {
                _protocol = frontend.GetProtocolFeatures() & Wanted;
                frontend.SetProtocolFeatures(_protocol);
            }

            frontend.SetOwner();
            return frontend;
        }
        catch
        {
            frontend.Dispose();
            throw;
        }
    }

    private static VhostUserFrontend Open(string socket)
    {
        try
        {
            return VhostUserFrontend.Connect(socket);
        }
        catch (Exception ex) when (ex is Win32Exception or IOException)
        {
            throw new VirtioBackendException($"no vhost-user back end answers on {socket}: {ex.Message}", ex);
        }
    }

    private static bool IsConnectionFault(Exception ex) =>
        ex is VhostUserProtocolException or IOException or Win32Exception or VirtioBackendException;

    /// <summary>The index the guest's used ring has reached (split ring: the u16 after its flags).</summary>
    private uint UsedIndex(VirtioQueueSetup queue)
    {
        Span<byte> index = stackalloc byte[2];
        return _memory.Read(queue.Device + 2, index) == MemoryFault.None ? System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(index) : 0u;
    }

    /// <summary>The back end takes ring addresses in the front end's address space.</summary>
    private unsafe ulong HostAddress(ulong guestAddress)
    {
        if (_memory.TryGetPointer(guestAddress, 1, out var host) != MemoryFault.None)
        {
            throw new ArgumentException($"ring address 0x{guestAddress:x} is outside guest memory");
        }

        return (ulong)host;
    }

    private static int ConfigSize(VirtioDeviceId type) => type switch
    {
        VirtioDeviceId.Block => VirtioBlkConfig.SizeWithoutZoned,
        VirtioDeviceId.Net => VirtioNetConfig.Size,
        _ => 0,
    };
}
