using IoVirt.Abi.Blk;
using IoVirt.Abi.Net;
using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.VhostUser;
using IoVirt.Virtqueue;

namespace IoVirt.Machine.Pci;

/// <summary>
/// A virtio device served by a vhost-user back end on a Unix socket: the VMM is the front end.
/// The back end maps guest RAM and gets each ring's ioeventfd as its kick and irqfd as its
/// call, so the I/O never passes through the VMM; the VMM only relays negotiation and config.
/// </summary>
public sealed class VhostUserBackend : IVirtioBackend
{
    /// <summary>Transport bits passed through: indirect descriptors, event index, VERSION_1, packed ring, in-order.</summary>
    private const ulong TransportFeatures = (1UL << 28) | (1UL << 29) | (1UL << 32) | (1UL << 34) | (1UL << 35);
    private const ulong DeviceFeatureMask = (1UL << 24) - 1;
    private const VhostUserProtocolFeatures Wanted =
        VhostUserProtocolFeatures.Mq | VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.ReplyAck;

    private readonly Lock _lock = new();
    private readonly VhostUserFrontend _frontend;
    private readonly GuestMemory _memory;
    private readonly bool _protocolFeatures;
    private readonly int _configSize;
    private readonly List<int> _started = [];

    private VhostUserBackend(VhostUserFrontend frontend, GuestMemory memory, VirtioDeviceId type, string socket)
    {
        _frontend = frontend;
        _memory = memory;
        DeviceId = type;
        var offered = frontend.GetFeatures();
        _protocolFeatures = (offered & (1UL << VirtioFeature.VhostUserProtocolFeatures)) != 0;
        var protocol = VhostUserProtocolFeatures.None;
        if (_protocolFeatures)
        {
            protocol = frontend.GetProtocolFeatures() & Wanted;
            frontend.SetProtocolFeatures(protocol);
        }

        frontend.SetOwner();
        Features = offered & (TransportFeatures | DeviceFeatureMask);
        if ((Features & (1UL << VirtioFeature.Version1)) == 0)
        {
            throw new VirtioBackendException($"the back end on {socket} does not offer VERSION_1");
        }

        if (type == VirtioDeviceId.Net)
        {
            // One queue pair; the control queue and multiqueue are the VMM's part of a
            // vhost-user NIC, which this one does not take on yet.
            Features &= ~((1UL << VirtioNetFeature.CtrlVq) | (1UL << VirtioNetFeature.Mq));
            QueueCount = 2;
        }
        else
        {
            QueueCount = protocol.HasFlag(VhostUserProtocolFeatures.Mq) ? (int)Math.Clamp(frontend.GetQueueNum(), 1, 64) : 1;
        }

        _configSize = protocol.HasFlag(VhostUserProtocolFeatures.Config) ? ConfigSize(type) : 0;
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

    /// <summary>Connects to the back end on <paramref name="socket"/> and learns what it offers; <see cref="VirtioBackendException"/> when it does not answer as one.</summary>
    public static VhostUserBackend Connect(string socket, VirtioDeviceId type, GuestMemory memory)
    {
        VhostUserFrontend frontend;
        try
        {
            frontend = VhostUserFrontend.Connect(socket);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or System.Net.Sockets.SocketException)
        {
            throw new VirtioBackendException($"no vhost-user back end answers on {socket}: {ex.Message}", ex);
        }

        try
        {
            return new VhostUserBackend(frontend, memory, type, socket);
        }
        catch (Exception ex) when (ex is VhostUserProtocolException or IOException or System.ComponentModel.Win32Exception)
        {
            frontend.Dispose();
            throw new VirtioBackendException($"the back end on {socket} failed the handshake: {ex.Message}", ex);
        }
        catch
        {
            frontend.Dispose();
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
            var bytes = _frontend.GetConfig(offset, (uint)data.Length);
            bytes.AsSpan(0, Math.Min(bytes.Length, data.Length)).CopyTo(data);
        }
    }

    public void WriteConfig(uint offset, ReadOnlySpan<byte> data)
    {
        if ((ulong)offset + (ulong)data.Length <= (ulong)_configSize)
        {
            lock (_lock)
            {
                _frontend.SetConfig(offset, data);
            }
        }
    }

    public void Activate(ulong features, IReadOnlyList<VirtioQueueSetup> queues)
    {
        lock (_lock)
        {
            try
            {
                _frontend.SetFeatures(features | (_protocolFeatures ? 1UL << VirtioFeature.VhostUserProtocolFeatures : 0));
                _frontend.SetMemTable(_memory);

                // A packed ring starts with both wrap counters at 1, which the base carries in bits 15 and 31.
                var start = (features & (1UL << VirtioFeature.RingPacked)) != 0 ? QueuePosition.Initial.ToPackedWord() : 0u;
                foreach (var queue in queues)
                {
                    var index = (uint)queue.Index;
                    _frontend.SetVringNum(index, (uint)queue.Size);
                    _frontend.SetVringAddr(index, HostAddress(queue.Descriptors), HostAddress(queue.Driver), HostAddress(queue.Device));
                    _frontend.SetVringBase(index, start);
                    _frontend.SetVringKick(index, queue.Kick);
                    _frontend.SetVringCall(index, queue.Interrupt);
                    if (_protocolFeatures)
                    {
                        _frontend.SetVringEnable(index, true);
                    }

                    _started.Add(queue.Index);
                }
            }
            catch (Exception ex) when (ex is VhostUserProtocolException or IOException or System.ComponentModel.Win32Exception or ArgumentException)
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
                foreach (var index in _started)
                {
                    _frontend.GetVringBase((uint)index);
                }
            }
            catch (Exception ex) when (ex is VhostUserProtocolException or IOException or System.ComponentModel.Win32Exception)
            {
                // The back end is gone or broken; a later activation reports it.
            }

            _started.Clear();
        }
    }

    public void Dispose() => _frontend.Dispose();

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
