using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;
using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.VhostUser;

/// <summary>
/// One front-end connection to a back end serving one device. <see cref="BackendRequestDispatcher"/>
/// checks each message; this session acts on it: features and status, the <see cref="MemoryTable"/>,
/// the rings (<see cref="Vring"/>, run on <see cref="QueueWorker"/> threads), the inflight buffer
/// and device-state transfer. When the connection ends, every ring stops, guest memory is released
/// and the device is reset, ready for the next front end.
/// </summary>
public sealed class BackendSession : IVhostUserBackendHandler, IRingHost, IDisposable
{
    /// <summary>Protocol features this back end implements for every device.</summary>
    public const VhostUserProtocolFeatures BaseProtocolFeatures =
        VhostUserProtocolFeatures.Mq
        | VhostUserProtocolFeatures.LogShmfd
        | VhostUserProtocolFeatures.ReplyAck
        | VhostUserProtocolFeatures.InflightShmfd
        | VhostUserProtocolFeatures.ResetDevice
        | VhostUserProtocolFeatures.ConfigureMemSlots
        | VhostUserProtocolFeatures.Status
        | VhostUserProtocolFeatures.DeviceState;

    /// <summary>Memory slots offered with CONFIGURE_MEM_SLOTS.</summary>
    public const int MaxMemorySlots = MemoryTable.MaxSlots;

    private readonly MessageChannel _channel;
    private readonly VirtioDeviceModel _device;
    private readonly ILogger _log;
    private readonly Vring[] _rings;
    private readonly QueueWorker[] _workers;
    private readonly MemoryTable _memory;
    private readonly DeviceStateTransfer _stateTransfer;
    private InflightArea? _inflight;
    private ulong _features;
    private byte _status;
    private volatile bool _needsReset;

    public BackendSession(UnixSocket socket, VirtioDeviceModel device, ILogger log, TimeSpan busyPoll = default)
    {
        ArgumentNullException.ThrowIfNull(device);
        _channel = new MessageChannel(socket);
        _device = device;
        _log = log;
        _memory = new MemoryTable(PokeWorkers);
        _stateTransfer = new DeviceStateTransfer(device, log);

        // Rings of one worker group share a thread and a gate.
        var groups = new List<int>();
        var gates = new List<object>();
        var workers = new List<QueueWorker>();
        _rings = new Vring[device.QueueCount];
        for (var i = 0; i < _rings.Length; i++)
        {
            var group = device.WorkerGroup(i);
            var index = groups.IndexOf(group);
            if (index < 0)
            {
                groups.Add(group);
                gates.Add(new object());
                workers.Add(new QueueWorker(this, gates[^1], $"{device.Name}-q{group}", busyPoll));
                index = workers.Count - 1;
            }

            _rings[i] = new Vring(i, gates[index], workers[index], this);
            workers[index].Attach(_rings[i]);
        }

        _workers = [.. workers];
    }

    public VirtioDeviceModel Device => _device;

    public AtomicGuestMemory? Memory => _memory.Memory;

    ulong IRingHost.Features => _features;

    InflightArea? IRingHost.Inflight => _inflight;

    /// <summary>Feature bits offered in GET_FEATURES: the device's, vhost-user's protocol-features bit and VHOST_F_LOG_ALL.</summary>
    public ulong OfferedFeatures =>
        _device.Features | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures) | VirtioFeature.Bit(VhostUserLog.LogAllFeature);

    /// <summary>Protocol features offered: the base set, and CONFIG when the device has a config space.</summary>
    public VhostUserProtocolFeatures OfferedProtocolFeatures =>
        BaseProtocolFeatures
        | (_device.ConfigSpace.IsEmpty ? VhostUserProtocolFeatures.None : VhostUserProtocolFeatures.Config)
        | (_device.AnnouncesMigration ? VhostUserProtocolFeatures.Rarp : VhostUserProtocolFeatures.None);

    /// <summary>Serves messages until the front end disconnects (true) or breaks the protocol (false; logged).</summary>
    public bool Serve() => new BackendRequestDispatcher(_channel, this, _log).Serve();

    public ulong GetFeatures() => OfferedFeatures;

    /// <summary>Transport feature bits a front end may set without our offer, because its own transport implements them.</summary>
    private const ulong FrontEndTransportFeatures = 1UL << VirtioFeature.RingReset;

    public void SetFeatures(ulong features)
    {
        var unoffered = features & ~OfferedFeatures;
        if ((unoffered & ~FrontEndTransportFeatures) != 0)
        {
            throw new VhostUserProtocolException($"features 0x{features:x} include bits never offered (0x{unoffered:x})");
        }

        if (unoffered != 0)
        {
            // QEMU's vhost-user-gpu passes on what its own PCI transport negotiated (RING_RESET):
            // the back end does not take part in it, so the bit is dropped, not the connection.
            _log.LogWarning("features 0x{Features:x} include transport bits never offered (0x{Unoffered:x}); ignored", features, unoffered);
            features &= ~unoffered;
        }

        _features = features;
        _device.FeaturesNegotiated(features & ~(VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures) | VirtioFeature.Bit(VhostUserLog.LogAllFeature)));
        _memory.LogAll = Has(VhostUserLog.LogAllFeature);
        WaitForWorkersToTakeTheMap();
        if (!Has(VirtioFeature.VhostUserProtocolFeatures))
        {
            // Without protocol features there is no SET_VRING_ENABLE: rings are enabled at once.
            foreach (var ring in _rings)
            {
                ring.SetEnabled(true);
            }
        }
    }

    public VhostUserProtocolFeatures GetProtocolFeatures() => OfferedProtocolFeatures;

    public void SetProtocolFeatures(VhostUserProtocolFeatures features)
    {
        if ((features & ~OfferedProtocolFeatures) != 0)
        {
            throw new VhostUserProtocolException($"protocol features 0x{features:x} include bits never offered");
        }

    }

    public void SetOwner()
    {
    }

    public void ResetOwner() => StopAllRings();

    public ulong GetQueueNum() => _device.ReportedQueueNumber;

    public ulong GetMaxMemSlots() => MemoryTable.MaxSlots;

    public void SetMemTable(ReadOnlySpan<VhostUserMemoryRegion> regions, ReadOnlySpan<SafeFileHandle> files) => _memory.Replace(regions, files);

    public void AddMemoryRegion(VhostUserMemoryRegion region, SafeFileHandle file) => _memory.Add(region, file);

    public void RemoveMemoryRegion(VhostUserMemoryRegion region) => _memory.Remove(region);

    public void SetVringNum(uint index, uint size)
    {
        var ring = RingFor(index);
        var packed = IsPacked;
        if (size is 0 || size > (uint)_device.MaxQueueSize || (!packed && (size & (size - 1)) != 0))
        {
            throw new VhostUserProtocolException($"ring {index}: size {size} is not a valid {(packed ? "packed" : "split")} queue size up to {_device.MaxQueueSize}");
        }

        ring.SetSize((int)size);
    }

    public void SetVringAddr(VhostUserVringAddr address)
    {
        var ring = RingFor(address.Index);
        if ((address.Flags & ~VhostUserVringAddrFlags.Log) != 0)
        {
            throw new VhostUserProtocolException($"ring {address.Index}: unknown address flags 0x{address.Flags:x}");
        }

        if ((address.Flags & VhostUserVringAddrFlags.Log) != 0)
        {
            RequireLogUsedRingAtItsAddress(address);
        }

        ring.SetAddresses(address.DescUserAddr, address.AvailUserAddr, address.UsedUserAddr);
    }

    /// <summary>
    /// Used-ring writes are logged at the used ring's own guest address (as QEMU asks); a ring whose
    /// log address differs is refused rather than logged at the wrong pages.
    /// </summary>
    private void RequireLogUsedRingAtItsAddress(VhostUserVringAddr address)
    {
        if (!Has(VhostUserLog.LogAllFeature))
        {
            throw new VhostUserProtocolException($"ring {address.Index}: used-ring logging without VHOST_F_LOG_ALL");
        }

        if (Memory is null)
        {
            throw new VhostUserProtocolException("used-ring logging before the memory table");
        }

        if (!_memory.TryUserToGuest(address.UsedUserAddr, out var used) || used != address.LogGuestAddr)
        {
            throw new VhostUserProtocolException($"ring {address.Index}: used-ring log address 0x{address.LogGuestAddr:x} is not the used ring's guest address");
        }
    }

    public void SetVringBase(uint index, uint value)
    {
        var ring = RingFor(index);
        if (!IsPacked && value > ushort.MaxValue)
        {
            throw new VhostUserProtocolException($"ring {index}: base {value} does not fit a split ring index");
        }

        _log.LogDebug("ring {Index} base {Base}", index, value);

        // A split ring's used index is read back from the ring itself when it starts (spec: SET_VRING_BASE).
        ring.SetBase(IsPacked ? QueuePosition.FromPackedBase(value) : new QueuePosition((ushort)value, true, 0, true));
    }

    public uint GetVringBase(uint index)
    {
        var position = RingFor(index).Stop();
        _log.LogDebug("ring {Index} stopped at {Position}", index, position);
        return IsPacked ? position.ToPackedWord() : position.NextAvail;
    }

    public void SetVringKick(uint index, EventFd? kick) => OwnedBy(index, kick).Start(kick);

    public void SetVringCall(uint index, EventFd? call) => OwnedBy(index, call).SetCall(call);

    public void SetVringErr(uint index, EventFd? err) => OwnedBy(index, err).SetErr(err);

    public void SetVringEnable(uint index, bool enable)
    {
        _log.LogDebug("ring {Index} {State}", index, enable ? "enabled" : "disabled");
        RingFor(index).SetEnabled(enable);
    }

    public bool GetConfig(uint offset, Span<byte> destination)
    {
        var config = _device.ConfigSpace;
        if ((ulong)offset + (ulong)destination.Length > (ulong)config.Length)
        {
            return false;
        }

        config.Slice((int)offset, destination.Length).CopyTo(destination);
        return true;
    }

    public void SetConfig(uint offset, ReadOnlySpan<byte> data)
    {
        if ((ulong)offset + (ulong)data.Length > (ulong)_device.ConfigSpace.Length || !_device.WriteConfig(offset, data))
        {
            throw new VhostUserProtocolException($"config write of {data.Length} bytes at {offset} refused");
        }
    }

    public void SetLogBase(VhostUserLog log, SafeFileHandle file)
    {
        _memory.SetDirtyLog(log, file);
        WaitForWorkersToTakeTheMap();
    }

    /// <summary>
    /// Once logging is turned on (the front end waits for this reply before it copies memory),
    /// no write may miss the log: a worker could still be in a turn on the map it leased before.
    /// Found by the message-sequence fuzz target (a page written, unlogged, after LOG_ALL).
    /// </summary>
    private void WaitForWorkersToTakeTheMap()
    {
        foreach (var ring in _rings)
        {
            ring.WaitForTurnEnd();
        }
    }

    public void SetGpuSocket(SafeFileHandle socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (!_device.ConnectDisplay(socket))
        {
            socket.Dispose();
            throw new VhostUserProtocolException($"the {_device.Name} device has no display to take a GPU socket");
        }
    }

    public void SendRarp(ReadOnlySpan<byte> mac)
    {
        _log.LogInformation("the guest {Mac} migrated here; the {Device} device announces it", BitConverter.ToString(mac[..6].ToArray()).Replace('-', ':'), _device.Name);
        _device.AnnounceMigration(mac[..6]);
    }

    /// <summary>The device's state moves while it is suspended: every ring stopped.</summary>
    public void SetDeviceStateFd(VhostUserTransferDirection direction, VhostUserMigrationPhase phase, SafeFileHandle pipe)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        try
        {
            if (phase != VhostUserMigrationPhase.Stopped || direction is not (VhostUserTransferDirection.Save or VhostUserTransferDirection.Load))
            {
                throw new VhostUserProtocolException($"device state transfer {direction} in phase {phase}");
            }

            RequireAllStopped();
        }
        catch
        {
            pipe.Dispose();
            throw;
        }

        _stateTransfer.Begin(direction, pipe);
    }

    public bool CheckDeviceState() => _stateTransfer.Check();

    /// <summary>A new zeroed inflight buffer for the front end to keep.</summary>
    public VhostUserInflight GetInflightFd(VhostUserInflight request, out SafeFileHandle file)
    {
        CheckInflight(request);
        RequireAllStopped();
        _inflight?.Dispose();
        _inflight = InflightArea.Create(request.NumQueues, request.QueueSize, IsPacked, out file);
        return new VhostUserInflight { MmapSize = InflightArea.Bytes(request.NumQueues, request.QueueSize, IsPacked), NumQueues = request.NumQueues, QueueSize = request.QueueSize };
    }

    /// <summary>The buffer a previous back end filled; rings started from now on recover from it.</summary>
    public void SetInflightFd(VhostUserInflight description, SafeFileHandle file)
    {
        CheckInflight(description);
        RequireAllStopped();
        try
        {
            var area = InflightArea.Map(file, description, IsPacked);
            _inflight?.Dispose();
            _inflight = area;
        }
        catch (Exception e) when (e is ArgumentException or System.ComponentModel.Win32Exception)
        {
            throw new VhostUserProtocolException($"inflight buffer refused: {e.Message}", e);
        }
    }

    private void CheckInflight(VhostUserInflight inflight)
    {
        var size = inflight.QueueSize;
        if (inflight.NumQueues is 0 || inflight.NumQueues > _rings.Length || size is 0 || size > _device.MaxQueueSize || (!IsPacked && (size & (size - 1)) != 0))
        {
            throw new VhostUserProtocolException($"inflight buffer for {inflight.NumQueues} queues of {size} entries");
        }
    }

    public void ResetDevice()
    {
        StopAllRings();
        foreach (var ring in _rings)
        {
            ring.Reset();
        }

        _inflight?.Forget();
        _features = 0;
        _memory.LogAll = false;
        _status = 0;
        _needsReset = false;
        _device.Reset();
    }

    public void SetStatus(byte status)
    {
        _status = status;
        if (status == 0)
        {
            _needsReset = false;
        }
    }

    public byte GetStatus() => (byte)(_status | (_needsReset ? (byte)DeviceStatus.DeviceNeedsReset : 0));

    private void StopAllRings()
    {
        foreach (var ring in _rings)
        {
            ring.Stop();
            ring.SetEnabled(false);
        }
    }

    void IRingHost.GuestFault(Vring ring, QueueError error)
    {
        _log.LogWarning("guest error on ring {Ring}: {Error}; the device needs a reset", ring.Index, error);
        _needsReset = true;
    }

    void IRingHost.DeviceFailed(Vring ring, Exception error)
    {
        _log.LogError(error, "{Device} failed on ring {Ring}; the device needs a reset", _device.Name, ring.Index);
        _needsReset = true;
    }

    void IRingHost.DrainFailed(Vring ring, Exception error)
    {
        _log.LogError(error, "{Device} failed to finish ring {Ring}'s requests in flight", _device.Name, ring.Index);
        _needsReset = true;
    }

    void IRingHost.Resubmitting(Vring ring, int count) =>
        _log.LogInformation("ring {Ring}: resubmitting {Count} requests left in flight", ring.Index, count);

    void IRingHost.WorkerFailed(Exception error)
    {
        _log.LogCritical(error, "a queue worker of {Device} failed; closing the connection (the device needs a reset)", _device.Name);
        _needsReset = true;
        _channel.Shutdown();
    }

    private bool Has(int feature) => (_features & VirtioFeature.Bit(feature)) != 0;

    private bool IsPacked => Has(VirtioFeature.RingPacked);

    private Vring RingFor(uint index) =>
        index < (uint)_rings.Length ? _rings[index] : throw new VhostUserProtocolException($"ring {index} does not exist (the device has {_rings.Length})");

    /// <summary>The ring that takes <paramref name="descriptor"/> over; a bad index closes it.</summary>
    private Vring OwnedBy(uint index, EventFd? descriptor)
    {
        if (index >= (uint)_rings.Length)
        {
            descriptor?.Dispose();
        }

        return RingFor(index);
    }

    private void RequireAllStopped()
    {
        foreach (var ring in _rings)
        {
            if (ring.IsRunning)
            {
                throw new VhostUserProtocolException($"ring {ring.Index} is running; stop it with GET_VRING_BASE first");
            }
        }
    }

    private void PokeWorkers()
    {
        foreach (var worker in _workers)
        {
            worker.Poke();
        }
    }

    public void Dispose()
    {
        // Rings first, under their gates, while the workers still run: a worker then finds them
        // stopped, and no descriptor is closed under its epoll set.
        foreach (var ring in _rings)
        {
            ring.Reset();
        }

        foreach (var worker in _workers)
        {
            worker.Dispose();
        }

        _device.Reset();
        _memory.Dispose();
        _inflight?.Dispose();
        _channel.Dispose();
    }
}
