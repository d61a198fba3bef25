using System.Runtime.InteropServices;
using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;
using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.VhostUser;

/// <summary>
/// One front-end connection to a back end: reads each message, validates it completely (header,
/// size, descriptor count, negotiated features, queue index, ring state) before it acts, and
/// replies. Rings run on <see cref="QueueWorker"/> threads. When the connection ends, every ring
/// stops, guest memory is released and the device is reset, ready for the next front end.
/// </summary>
public sealed class BackendSession : IRingHost, IDisposable
{
    /// <summary>Protocol features this back end implements for every device.</summary>
    public const ulong BaseProtocolFeatures =
        (1UL << VhostUserProtocolFeature.Mq)
        | (1UL << VhostUserProtocolFeature.LogShmfd)
        | (1UL << VhostUserProtocolFeature.ReplyAck)
        | (1UL << VhostUserProtocolFeature.InflightShmfd)
        | (1UL << VhostUserProtocolFeature.ResetDevice)
        | (1UL << VhostUserProtocolFeature.ConfigureMemSlots)
        | (1UL << VhostUserProtocolFeature.Status)
        | (1UL << VhostUserProtocolFeature.DeviceState);

    /// <summary>Memory slots offered with CONFIGURE_MEM_SLOTS.</summary>
    public const int MaxMemorySlots = 32;

    private readonly MessageChannel _channel;
    private readonly VirtioDeviceModel _device;
    private readonly ILogger _log;
    private readonly Vring[] _rings;
    private readonly QueueWorker[] _workers;
    private readonly int[] _workerOfRing;
    private readonly byte[] _reply = new byte[MessageChannel.MaxPayload];
    private AtomicGuestMemory? _memory;

    // QEMU keeps one memory table per vhost device, and a multiqueue net device has one vhost
    // device per queue pair on this one connection: each adds, and later removes, the same
    // regions. A repeated region stays mapped once; this counts its adds beyond the first.
    private readonly Dictionary<(ulong GuestAddress, ulong Size, ulong UserAddress), int> _repeatedRegionAdds = [];
    private InflightArea? _inflight;
    private DirtyBitmap? _dirtyLog;
    private Task? _stateTransfer;
    private SafeFileHandle? _replyFd;
    private ulong _features;
    private ulong _protocolFeatures;
    private byte _status;
    private volatile bool _needsReset;

    public BackendSession(UnixSocket socket, VirtioDeviceModel device, ILogger log, TimeSpan busyPoll = default)
    {
        ArgumentNullException.ThrowIfNull(device);
        _channel = new MessageChannel(socket);
        _device = device;
        _log = log;
        _rings = new Vring[device.QueueCount];
        _workerOfRing = new int[device.QueueCount];
        var groups = new List<int>();
        for (var i = 0; i < _rings.Length; i++)
        {
            _rings[i] = new Vring(i);
            var group = device.WorkerGroup(i);
            var index = groups.IndexOf(group);
            if (index < 0)
            {
                groups.Add(group);
                index = groups.Count - 1;
            }

            _workerOfRing[i] = index;
        }

        _workers = new QueueWorker[groups.Count];
        for (var g = 0; g < groups.Count; g++)
        {
            _workers[g] = new QueueWorker(this, $"{device.Name}-q{groups[g]}", busyPoll);
        }

        for (var i = 0; i < _rings.Length; i++)
        {
            _workers[_workerOfRing[i]].Attach(_rings[i]);
        }
    }

    public VirtioDeviceModel Device => _device;

    public AtomicGuestMemory? Memory => Volatile.Read(ref _memory);

    /// <summary>Feature bits offered in GET_FEATURES: the device's, vhost-user's protocol-features bit and VHOST_F_LOG_ALL.</summary>
    public ulong OfferedFeatures =>
        _device.Features | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures) | VirtioFeature.Bit(VhostUserLog.LogAllFeature);

    /// <summary>Protocol features offered: the base set, CONFIG when the device has a config space, and what the device adds.</summary>
    public ulong OfferedProtocolFeatures =>
        BaseProtocolFeatures
        | (_device.ConfigSpace.IsEmpty ? 0 : 1UL << VhostUserProtocolFeature.Config)
        | _device.ProtocolFeatures;

    /// <summary>Serves messages until the front end disconnects or breaks the protocol (logged).</summary>
    public void Serve()
    {
        try
        {
            while (_channel.Receive())
            {
                var header = _channel.Header;
                if ((header.Flags & VhostUserHeaderFlags.VersionMask) != VhostUserHeaderFlags.Version1 || (header.Flags & VhostUserHeaderFlags.Reply) != 0)
                {
                    throw new VhostUserProtocolException($"bad header flags 0x{header.Flags:x} on request {header.Request}");
                }

                var request = (VhostUserRequest)header.Request;
                if (_log.IsEnabled(LogLevel.Debug))
                {
                    _log.LogDebug("vhost-user {Request}: {Bytes} bytes, {Fds} descriptors", request, _channel.Payload.Length, _channel.FdCount);
                }

                bool ok;
                int replySize;
                try
                {
                    replySize = Handle(request, _channel.Payload);
                    ok = true;
                }
                catch (VhostUserProtocolException e) when (WantsAck(header) || RepliesWithStatus(request))
                {
                    _log.LogWarning("vhost-user {Request} refused: {Reason}", request, e.Message);
                    replySize = NoReply;
                    ok = false;
                }

                if (replySize != NoReply)
                {
                    var fd = _replyFd;
                    _replyFd = null;
                    using (fd)
                    {
                        int[] fds = fd is null ? [] : [(int)fd.DangerousGetHandle()];
                        _channel.Send(header.Request, VhostUserHeaderFlags.Version1 | VhostUserHeaderFlags.Reply, _reply.AsSpan(0, replySize), fds);
                    }
                }
                else if (WantsAck(header) || (!ok && RepliesWithStatus(request)))
                {
                    SendU64(header.Request, ok ? 0UL : RefusalFor(request));
                }
            }

            _log.LogInformation("front end disconnected");
        }
        catch (VhostUserProtocolException e)
        {
            _log.LogError("closing the connection: {Reason}", e.Message);
        }
        catch (IOException e)
        {
            _log.LogError("closing the connection: {Reason}", e.Message);
        }
        finally
        {
            _channel.CloseFds();
        }
    }

    /// <summary>Requests whose own reply is a u64 status, so a refusal is answered, not a closed connection.</summary>
    private static bool RepliesWithStatus(VhostUserRequest request) =>
        request is VhostUserRequest.SetLogBase or VhostUserRequest.SetDeviceStateFd;

    /// <summary>The refusal word: SET_DEVICE_STATE_FD also says that no descriptor comes back.</summary>
    private static ulong RefusalFor(VhostUserRequest request) =>
        request == VhostUserRequest.SetDeviceStateFd ? 1 | VhostUserVringIndex.NoFdFlag : 1;

    private bool WantsAck(VhostUserHeader header) =>
        Negotiated(VhostUserProtocolFeature.ReplyAck) && (header.Flags & VhostUserHeaderFlags.NeedReply) != 0;

    private bool Negotiated(int protocolFeature) => (_protocolFeatures & (1UL << protocolFeature)) != 0;

    /// <summary>Handle's answer for a request without an explicit reply (REPLY_ACK may still answer it).</summary>
    private const int NoReply = -1;

    /// <summary>Acts on one validated message; returns the size of an explicit reply written to <see cref="_reply"/>, or <see cref="NoReply"/>.</summary>
    private int Handle(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        switch (request)
        {
            case VhostUserRequest.GetFeatures:
                Expect(payload, 0, 0);
                return ReplyU64(OfferedFeatures);
            case VhostUserRequest.SetFeatures:
                Expect(payload, 8, 0);
                SetFeatures(Read<ulong>(payload));
                return NoReply;
            case VhostUserRequest.GetProtocolFeatures:
                Expect(payload, 0, 0);
                return ReplyU64(OfferedProtocolFeatures);
            case VhostUserRequest.SetProtocolFeatures:
                Expect(payload, 8, 0);
                SetProtocolFeatures(Read<ulong>(payload));
                return NoReply;
            case VhostUserRequest.SetOwner:
                Expect(payload, 0, 0);
                return NoReply;
            case VhostUserRequest.ResetOwner:
                Expect(payload, 0, 0);
                StopAllRings();
                return NoReply;
            case VhostUserRequest.GetQueueNum:
                Expect(payload, 0, 0);
                RequireProtocol(VhostUserProtocolFeature.Mq);
                return ReplyU64(_device.ReportedQueueNumber);
            case VhostUserRequest.SetMemTable:
                SetMemTable(payload);
                return NoReply;
            case VhostUserRequest.GetMaxMemSlots:
                Expect(payload, 0, 0);
                RequireProtocol(VhostUserProtocolFeature.ConfigureMemSlots);
                return ReplyU64(MaxMemorySlots);
            case VhostUserRequest.AddMemReg:
                AddMemoryRegion(payload);
                return NoReply;
            case VhostUserRequest.RemMemReg:
                RemoveMemoryRegion(payload);
                return NoReply;
            case VhostUserRequest.SetVringNum:
                SetVringNum(ReadState(payload));
                return NoReply;
            case VhostUserRequest.SetVringAddr:
                SetVringAddr(payload);
                return NoReply;
            case VhostUserRequest.SetVringBase:
                SetVringBase(ReadState(payload));
                return NoReply;
            case VhostUserRequest.GetVringBase:
                return GetVringBase(ReadState(payload));
            case VhostUserRequest.SetVringKick:
            case VhostUserRequest.SetVringCall:
            case VhostUserRequest.SetVringErr:
                SetVringFd(request, payload);
                return NoReply;
            case VhostUserRequest.SetVringEnable:
                SetVringEnable(ReadState(payload));
                return NoReply;
            case VhostUserRequest.GetConfig:
                return GetConfig(payload);
            case VhostUserRequest.SetConfig:
                SetConfig(payload);
                return NoReply;
            case VhostUserRequest.SetLogBase:
                return SetLogBase(payload);
            case VhostUserRequest.SetLogFd:
                // The optional "log changed" eventfd: this back end never signals it (the front end
                // reads the log after stopping the rings), so it is accepted and closed.
                Expect(payload, 0, 1);
                RequireProtocol(VhostUserProtocolFeature.LogShmfd);
                return NoReply;
            case VhostUserRequest.SetDeviceStateFd:
                return SetDeviceStateFd(payload);
            case VhostUserRequest.CheckDeviceState:
                Expect(payload, 0, 0);
                RequireProtocol(VhostUserProtocolFeature.DeviceState);
                return ReplyU64(CheckDeviceState() ? 0UL : 1UL);
            case VhostUserRequest.GetInflightFd:
                return GetInflightFd(payload);
            case VhostUserRequest.SetInflightFd:
                SetInflightFd(payload);
                return NoReply;
            case VhostUserRequest.ResetDevice:
                Expect(payload, 0, 0);
                RequireProtocol(VhostUserProtocolFeature.ResetDevice);
                ResetDevice();
                return NoReply;
            case VhostUserRequest.SetStatus:
                Expect(payload, 8, 0);
                RequireProtocol(VhostUserProtocolFeature.Status);
                SetStatus(Read<ulong>(payload));
                return NoReply;
            case VhostUserRequest.GetStatus:
                Expect(payload, 0, 0);
                RequireProtocol(VhostUserProtocolFeature.Status);
                return ReplyU64(CurrentStatus());
            default:
                // Everything else (IOTLB, RARP, MTU, endianness, crypto, postcopy,
                // the back-end channel, GPU, in-band kicks, shared objects, shared memory)
                // belongs to a protocol feature this back end does not offer.
                throw new VhostUserProtocolException($"request {request} needs a feature this back end does not offer");
        }
    }

    private void SetFeatures(ulong features)
    {
        if ((features & ~OfferedFeatures) != 0)
        {
            throw new VhostUserProtocolException($"features 0x{features:x} include bits never offered (0x{features & ~OfferedFeatures:x})");
        }

        var wasLogging = IsLogging;
        _features = features;
        _device.FeaturesNegotiated(features & ~(VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures) | VirtioFeature.Bit(VhostUserLog.LogAllFeature)));
        if (IsLogging != wasLogging)
        {
            ApplyDirtyLog();
        }

        if ((features & VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures)) == 0)
        {
            // Without protocol features there is no SET_VRING_ENABLE: rings are enabled at once.
            foreach (var ring in _rings)
            {
                WithRing(ring, r => r.Enabled = true);
            }
        }
    }

    private void SetProtocolFeatures(ulong features)
    {
        if ((features & ~OfferedProtocolFeatures) != 0)
        {
            throw new VhostUserProtocolException($"protocol features 0x{features:x} include bits never offered");
        }

        _protocolFeatures = features;
    }

    private void SetMemTable(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < VhostUserMemoryHeader.Size)
        {
            throw new VhostUserProtocolException($"memory table of {payload.Length} bytes");
        }

        var count = Read<VhostUserMemoryHeader>(payload).NRegions;
        if (count is 0 or > VhostUserMemoryHeader.MaxRegions)
        {
            throw new VhostUserProtocolException($"memory table with {count} regions");
        }

        Expect(payload, VhostUserMemoryHeader.Size + ((int)count * VhostUserMemoryRegion.Size), (int)count);
        var regions = new GuestRegion[count];
        var mapped = 0;
        try
        {
            for (var i = 0; i < count; i++)
            {
                var region = Read<VhostUserMemoryRegion>(payload[(VhostUserMemoryHeader.Size + (i * VhostUserMemoryRegion.Size))..]);
                regions[i] = MapRegion(region, i);
                mapped++;
            }

            Publish(new GuestMemory(regions));
            _repeatedRegionAdds.Clear();
        }
        catch (Exception e) when (e is ArgumentException or System.ComponentModel.Win32Exception)
        {
            foreach (var region in regions.AsSpan(0, mapped))
            {
                region.Dispose();
            }

            throw new VhostUserProtocolException($"memory table refused: {e.Message}", e);
        }
    }

    private void AddMemoryRegion(ReadOnlySpan<byte> payload)
    {
        RequireProtocol(VhostUserProtocolFeature.ConfigureMemSlots);
        Expect(payload, VhostUserSingleMemoryRegion.Size, 1);
        var region = Read<VhostUserSingleMemoryRegion>(payload).Region;
        var current = Memory;
        if (current is not null)
        {
            using var lease = current.Acquire();
            if (Holds(lease.Memory.Regions, region))
            {
                // The descriptor sent along is closed unused, like one sent with REM_MEM_REG.
                var key = (region.GuestPhysAddr, region.MemorySize, region.UserspaceAddr);
                _repeatedRegionAdds[key] = _repeatedRegionAdds.GetValueOrDefault(key) + 1;
                return;
            }

            if (lease.Memory.Regions.Length >= MaxMemorySlots)
            {
                throw new VhostUserProtocolException($"more than {MaxMemorySlots} memory regions");
            }
        }

        var added = MapRegion(region, 0);
        try
        {
            if (current is null)
            {
                Publish(new GuestMemory(added));
            }
            else
            {
                current.Update(m => m.WithRegion(added));
                PokeWorkers();
            }
        }
        catch (ArgumentException e)
        {
            added.Dispose();
            throw new VhostUserProtocolException($"memory region refused: {e.Message}", e);
        }
    }

    private void RemoveMemoryRegion(ReadOnlySpan<byte> payload)
    {
        RequireProtocol(VhostUserProtocolFeature.ConfigureMemSlots);
        if (payload.Length != VhostUserSingleMemoryRegion.Size || _channel.FdCount > 1)
        {
            throw new VhostUserProtocolException("REM_MEM_REG needs one region and at most one descriptor");
        }

        // A descriptor sent along is tolerated and closed unused, as the spec allows.
        var region = Read<VhostUserSingleMemoryRegion>(payload).Region;
        var current = Memory ?? throw new VhostUserProtocolException("no memory table to remove a region from");
        var key = (region.GuestPhysAddr, region.MemorySize, region.UserspaceAddr);
        if (_repeatedRegionAdds.TryGetValue(key, out var repeats))
        {
            // Another add of the same region is still outstanding: it stays mapped.
            if (repeats == 1)
            {
                _repeatedRegionAdds.Remove(key);
            }
            else
            {
                _repeatedRegionAdds[key] = repeats - 1;
            }

            return;
        }

        try
        {
            current.Update(m =>
            {
                foreach (var r in m.Regions)
                {
                    if (r.GuestAddress == region.GuestPhysAddr && r.Size == region.MemorySize && r.UserAddress == region.UserspaceAddr)
                    {
                        return m.WithoutRegion(r.GuestAddress, r.Size);
                    }
                }

                throw new ArgumentException($"no region of 0x{region.MemorySize:x} bytes at guest 0x{region.GuestPhysAddr:x}");
            });
        }
        catch (ArgumentException e)
        {
            throw new VhostUserProtocolException(e.Message, e);
        }

        PokeWorkers();
    }

    private static bool Holds(ReadOnlySpan<GuestRegion> regions, VhostUserMemoryRegion region)
    {
        foreach (var r in regions)
        {
            if (r.GuestAddress == region.GuestPhysAddr && r.Size == region.MemorySize && r.UserAddress == region.UserspaceAddr)
            {
                return true;
            }
        }

        return false;
    }

    private GuestRegion MapRegion(VhostUserMemoryRegion region, int fdIndex)
    {
        if (region.MemorySize == 0 || region.MemorySize > ulong.MaxValue - region.GuestPhysAddr || region.MemorySize > ulong.MaxValue - region.UserspaceAddr
            || region.MemorySize > long.MaxValue || region.MmapOffset > long.MaxValue - region.MemorySize)
        {
            throw new ArgumentException($"region of 0x{region.MemorySize:x} bytes at guest 0x{region.GuestPhysAddr:x} / user 0x{region.UserspaceAddr:x} / offset 0x{region.MmapOffset:x} wraps around");
        }

        using var fd = _channel.TakeFd(fdIndex);
        return GuestRegion.MapFile(region.GuestPhysAddr, region.MemorySize, fd, region.MmapOffset, region.UserspaceAddr);
    }

    /// <summary>Makes <paramref name="memory"/> the device's memory map (logging dirty pages when that is on); workers move to it at their next batch.</summary>
    private void Publish(GuestMemory memory)
    {
        if (IsLogging)
        {
            using var unlogged = memory;
            memory = unlogged.WithDirtyLog(_ => _dirtyLog);
        }

        if (_memory is null)
        {
            Volatile.Write(ref _memory, new AtomicGuestMemory(memory));
        }
        else
        {
            _memory.Swap(memory);
        }

        PokeWorkers();
    }

    private void SetVringNum(VhostUserVringState state)
    {
        var ring = RingFor(state.Index);
        var packed = IsPacked;
        if (state.Num is 0 || state.Num > (uint)_device.MaxQueueSize || (!packed && (state.Num & (state.Num - 1)) != 0))
        {
            throw new VhostUserProtocolException($"ring {state.Index}: size {state.Num} is not a valid {(packed ? "packed" : "split")} queue size up to {_device.MaxQueueSize}");
        }

        RequireStopped(ring);
        ring.Size = (int)state.Num;
    }

    private void SetVringAddr(ReadOnlySpan<byte> payload)
    {
        Expect(payload, VhostUserVringAddr.Size, 0);
        var addr = Read<VhostUserVringAddr>(payload);
        var ring = RingFor(addr.Index);
        if ((addr.Flags & ~VhostUserVringAddrFlags.Log) != 0)
        {
            throw new VhostUserProtocolException($"ring {addr.Index}: unknown address flags 0x{addr.Flags:x}");
        }

        if ((addr.Flags & VhostUserVringAddrFlags.Log) != 0)
        {
            RequireLogUsedRingAtItsAddress(addr);
        }

        WithRing(ring, r =>
        {
            r.DescriptorUserAddress = addr.DescUserAddr;
            r.AvailUserAddress = addr.AvailUserAddr;
            r.UsedUserAddress = addr.UsedUserAddr;
            r.HasAddresses = true;
            r.Generation = -1; // a running ring is resolved again at its next batch
        });
    }

    /// <summary>
    /// Used-ring writes are logged at the used ring's own guest address (as QEMU asks); a ring whose
    /// log address differs is refused rather than logged at the wrong pages.
    /// </summary>
    private void RequireLogUsedRingAtItsAddress(VhostUserVringAddr addr)
    {
        if (!Has(VhostUserLog.LogAllFeature))
        {
            throw new VhostUserProtocolException($"ring {addr.Index}: used-ring logging without VHOST_F_LOG_ALL");
        }

        using var lease = (Memory ?? throw new VhostUserProtocolException("used-ring logging before the memory table")).Acquire();
        if (!lease.Memory.TryUserToGuest(addr.UsedUserAddr, out var used) || used != addr.LogGuestAddr)
        {
            throw new VhostUserProtocolException($"ring {addr.Index}: used-ring log address 0x{addr.LogGuestAddr:x} is not the used ring's guest address");
        }
    }

    /// <summary>
    /// SET_LOG_BASE: maps the front end's dirty log (one bit per 4 KiB page of guest-physical
    /// memory, from address 0) and logs every write from now on while LOG_ALL is negotiated.
    /// The old log stays mapped until no memory snapshot using it is in use.
    /// </summary>
    private unsafe int SetLogBase(ReadOnlySpan<byte> payload)
    {
        RequireProtocol(VhostUserProtocolFeature.LogShmfd);
        Expect(payload, VhostUserLog.Size, 1);
        var log = Read<VhostUserLog>(payload);
        using var file = _channel.TakeFd(0);
        DirtyBitmap bitmap;
        try
        {
            if (log.MmapSize == 0)
            {
                throw new ArgumentException("an empty log");
            }

            var fd = (int)file.DangerousGetHandle();
            Mapping.CheckFileRange(fd, log.MmapOffset, log.MmapSize);
            var pageOffset = log.MmapOffset % (ulong)Environment.SystemPageSize;
            var length = log.MmapSize + pageOffset;
            var mapBase = Mapping.MapShared(fd, log.MmapOffset - pageOffset, length, writable: true);
            bitmap = new DirtyBitmap(mapBase + pageOffset, log.MmapSize, baseAddress: 0, () => Mapping.Unmap(mapBase, length));
        }
        catch (Exception e) when (e is ArgumentException or System.ComponentModel.Win32Exception)
        {
            throw new VhostUserProtocolException($"dirty log refused: {e.Message}", e);
        }

        _dirtyLog?.Dispose();
        _dirtyLog = bitmap;
        ApplyDirtyLog();
        return ReplyU64(0);
    }

    /// <summary>
    /// SET_DEVICE_STATE_FD: moves the device's state through the front end's pipe while the device
    /// is suspended (every ring stopped), on a background task so this connection keeps serving.
    /// The reply says success and that no descriptor of the back end's own comes back.
    /// </summary>
    private int SetDeviceStateFd(ReadOnlySpan<byte> payload)
    {
        RequireProtocol(VhostUserProtocolFeature.DeviceState);
        Expect(payload, VhostUserDeviceStateTransfer.Size, 1);
        var transfer = Read<VhostUserDeviceStateTransfer>(payload);
        if (transfer.Phase != VhostUserMigrationPhase.Stopped || transfer.Direction is not (VhostUserTransferDirection.Save or VhostUserTransferDirection.Load))
        {
            throw new VhostUserProtocolException($"device state transfer {transfer.Direction} in phase {transfer.Phase}");
        }

        foreach (var ring in _rings)
        {
            RequireStopped(ring);
        }

        var pipe = new FileStream(_channel.TakeFd(0), transfer.Direction == VhostUserTransferDirection.Save ? FileAccess.Write : FileAccess.Read, bufferSize: 0);
        var device = _device;
        _stateTransfer = transfer.Direction == VhostUserTransferDirection.Save
            ? Task.Run(() =>
            {
                using (pipe)
                {
                    device.SaveState(pipe);
                }
            })
            : Task.Run(() =>
            {
                using var state = new MemoryStream();
                using (pipe)
                {
                    pipe.CopyTo(state);
                }

                state.Position = 0;
                device.LoadState(state);
            });
        return ReplyU64(VhostUserVringIndex.NoFdFlag);
    }

    /// <summary>CHECK_DEVICE_STATE: waits for the transfer and says whether it went through.</summary>
    private bool CheckDeviceState()
    {
        var transfer = _stateTransfer;
        _stateTransfer = null;
        if (transfer is null)
        {
            return false;
        }

        try
        {
            transfer.GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or EndOfStreamException)
        {
            _log.LogWarning("device state transfer failed: {Reason}", e.Message);
            return false;
        }
    }

    private bool IsLogging => _dirtyLog is not null && Has(VhostUserLog.LogAllFeature);

    /// <summary>Publishes the current map again, logging into the dirty log or not as negotiated now.</summary>
    private void ApplyDirtyLog()
    {
        if (Memory is { } memory)
        {
            memory.Update(m => m.WithDirtyLog(IsLogging ? _ => _dirtyLog : null));
            PokeWorkers();
        }
    }

    private void SetVringBase(VhostUserVringState state)
    {
        var ring = RingFor(state.Index);
        RequireStopped(ring);
        if (IsPacked)
        {
            ring.Base = QueuePosition.FromPackedWord(state.Num);
        }
        else if (state.Num > ushort.MaxValue)
        {
            throw new VhostUserProtocolException($"ring {state.Index}: base {state.Num} does not fit a split ring index");
        }
        else
        {
            // The used index is read back from the ring itself when it starts (spec: SET_VRING_BASE).
            ring.Base = new QueuePosition((ushort)state.Num, true, 0, true);
        }
    }

    private int GetVringBase(VhostUserVringState state)
    {
        var ring = RingFor(state.Index);
        QueuePosition position = default;
        WithRing(ring, r =>
        {
            if (r.Queue is not null)
            {
                Quiesce(r);
                r.Base = r.Queue.Position;
                r.Queue = null;
            }

            Workers(r).Unwatch(r);
            position = r.Base;
            r.Kick?.Dispose();
            r.Kick = null;
            r.PollsWithoutKick = false;
        });

        var reply = new VhostUserVringState { Index = state.Index, Num = IsPacked ? position.ToPackedWord() : position.NextAvail };
        MemoryMarshal.Write(_reply, in reply);
        return VhostUserVringState.Size;
    }

    private void SetVringFd(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 8)
        {
            throw new VhostUserProtocolException($"{request} payload of {payload.Length} bytes");
        }

        var value = Read<ulong>(payload);
        var noFd = (value & VhostUserVringIndex.NoFdFlag) != 0;
        if ((value & ~(VhostUserVringIndex.IndexMask | VhostUserVringIndex.NoFdFlag)) != 0)
        {
            throw new VhostUserProtocolException($"{request}: reserved bits set in 0x{value:x}");
        }

        Expect(payload, 8, noFd ? 0 : 1);
        var ring = RingFor((uint)(value & VhostUserVringIndex.IndexMask));
        var fd = noFd ? null : EventFd.Adopt(_channel.TakeFd(0));
        switch (request)
        {
            case VhostUserRequest.SetVringKick:
                StartRing(ring, fd);
                break;
            case VhostUserRequest.SetVringCall:
                WithRing(ring, r =>
                {
                    r.Call?.Dispose();
                    r.Call = fd;
                });
                break;
            default:
                WithRing(ring, r =>
                {
                    r.Err?.Dispose();
                    r.Err = fd;
                });
                break;
        }
    }

    /// <summary>SET_VRING_KICK starts the ring: its queue is resolved now, so a bad ring is refused here.</summary>
    private void StartRing(Vring ring, EventFd? kick)
    {
        var memory = Memory;
        if (ring.Size == 0 || !ring.HasAddresses || memory is null)
        {
            kick?.Dispose();
            throw new VhostUserProtocolException($"ring {ring.Index} started before its size, addresses and the memory table were set");
        }

        var started = false;
        WithRing(ring, r =>
        {
            Workers(r).Unwatch(r);
            r.Kick?.Dispose();
            r.Kick = kick;
            r.PollsWithoutKick = kick is null;
            using var lease = memory.Acquire();
            started = Rebuild(r, lease);
            if (started)
            {
                Workers(r).Watch(r);
                r.Pending = true;
            }
        });

        // Judged by the rebuild, not by the ring afterwards: its worker may already have run it
        // (and stopped it again on a bad chain, which is the guest's fault, logged on its own).
        if (!started)
        {
            throw new VhostUserProtocolException($"ring {ring.Index} could not start (the guest error is logged above)");
        }
    }

    private void SetVringEnable(VhostUserVringState state)
    {
        var ring = RingFor(state.Index);
        if (state.Num > 1)
        {
            throw new VhostUserProtocolException($"ring {state.Index}: enable value {state.Num}");
        }

        WithRing(ring, r =>
        {
            r.Enabled = state.Num == 1;
            r.Pending = true;
        });
    }

    private int GetConfig(ReadOnlySpan<byte> payload)
    {
        RequireProtocol(VhostUserProtocolFeature.Config);
        var header = ReadConfigHeader(payload);
        var config = _device.ConfigSpace;
        MemoryMarshal.Write(_reply, in header);
        if ((ulong)header.Offset + header.ConfigSize > (ulong)config.Length)
        {
            // The spec's error answer: a reply without payload.
            return 0;
        }

        config.Slice((int)header.Offset, (int)header.ConfigSize).CopyTo(_reply.AsSpan(VhostUserConfigHeader.Size));
        return VhostUserConfigHeader.Size + (int)header.ConfigSize;
    }

    private void SetConfig(ReadOnlySpan<byte> payload)
    {
        RequireProtocol(VhostUserProtocolFeature.Config);
        var header = ReadConfigHeader(payload);
        if ((ulong)header.Offset + header.ConfigSize > (ulong)_device.ConfigSpace.Length
            || !_device.WriteConfig(header.Offset, payload.Slice(VhostUserConfigHeader.Size, (int)header.ConfigSize)))
        {
            throw new VhostUserProtocolException($"config write of {header.ConfigSize} bytes at {header.Offset} refused");
        }
    }

    private VhostUserConfigHeader ReadConfigHeader(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < VhostUserConfigHeader.Size || _channel.FdCount != 0)
        {
            throw new VhostUserProtocolException($"config message of {payload.Length} bytes");
        }

        var header = Read<VhostUserConfigHeader>(payload);
        if (header.ConfigSize > VhostUserConfigHeader.MaxConfigSize || payload.Length != VhostUserConfigHeader.Size + (int)header.ConfigSize)
        {
            throw new VhostUserProtocolException($"config access of {header.ConfigSize} bytes in a {payload.Length}-byte message");
        }

        return header;
    }

    /// <summary>GET_INFLIGHT_FD: a new zeroed inflight buffer for the front end to keep (split rings).</summary>
    private int GetInflightFd(ReadOnlySpan<byte> payload)
    {
        var request = ReadInflight(payload, fds: 0);
        foreach (var ring in _rings)
        {
            RequireStopped(ring);
        }

        _inflight?.Dispose();
        _inflight = InflightArea.Create(request.NumQueues, request.QueueSize, IsPacked, out var file);
        _replyFd = file;
        var reply = new VhostUserInflight { MmapSize = InflightArea.Bytes(request.NumQueues, request.QueueSize, IsPacked), NumQueues = request.NumQueues, QueueSize = request.QueueSize };
        MemoryMarshal.Write(_reply, in reply);
        return VhostUserInflight.Size;
    }

    /// <summary>SET_INFLIGHT_FD: the buffer a previous back end filled; rings started from now on recover from it.</summary>
    private void SetInflightFd(ReadOnlySpan<byte> payload)
    {
        var description = ReadInflight(payload, fds: 1);
        foreach (var ring in _rings)
        {
            RequireStopped(ring);
        }

        using var file = _channel.TakeFd(0);
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

    private VhostUserInflight ReadInflight(ReadOnlySpan<byte> payload, int fds)
    {
        RequireProtocol(VhostUserProtocolFeature.InflightShmfd);
        Expect(payload, VhostUserInflight.Size, fds);
        var inflight = Read<VhostUserInflight>(payload);
        var size = inflight.QueueSize;
        if (inflight.NumQueues is 0 || inflight.NumQueues > _rings.Length || size is 0 || size > _device.MaxQueueSize || (!IsPacked && (size & (size - 1)) != 0))
        {
            throw new VhostUserProtocolException($"inflight buffer for {inflight.NumQueues} queues of {size} entries");
        }

        return inflight;
    }

    private void SetStatus(ulong status)
    {
        if (status > byte.MaxValue)
        {
            throw new VhostUserProtocolException($"status 0x{status:x}");
        }

        _status = (byte)status;
        if (status == 0)
        {
            _needsReset = false;
        }
    }

    private ulong CurrentStatus() => (ulong)(_status | (_needsReset ? (byte)DeviceStatus.DeviceNeedsReset : 0));

    private void ResetDevice()
    {
        StopAllRings();
        foreach (var ring in _rings)
        {
            WithRing(ring, r => r.Clear());
        }

        _inflight?.Forget();
        _features = 0;
        _status = 0;
        _needsReset = false;
        _device.Reset();
    }

    private void StopAllRings()
    {
        foreach (var ring in _rings)
        {
            WithRing(ring, r =>
            {
                if (r.Queue is not null)
                {
                    Quiesce(r);
                    r.Base = r.Queue.Position;
                    r.Queue = null;
                }

                Workers(r).Unwatch(r);

                r.Enabled = false;
            });
        }
    }

    /// <summary>
    /// Lets the device finish what is in flight on a stopping ring (under the ring's gate) and
    /// publishes it, so the position taken next covers every request the device popped.
    /// </summary>
    private void Quiesce(Vring ring)
    {
        var memory = Memory;
        if (memory is null || ring.Queue is null)
        {
            return;
        }

        using var lease = memory.Acquire();
        if (lease.Generation != ring.Generation && !Rebuild(ring, lease))
        {
            return;
        }

        var queue = ring.Queue;
        try
        {
            _device.QuiesceQueue(ring.Index, queue);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogError(e, "{Device} failed to finish ring {Ring}'s requests in flight", _device.Name, ring.Index);
            MarkNeedsReset(ring);
        }

        queue.PublishUsed();
        if (queue.NeedsInterrupt())
        {
            ring.Call?.Signal();
        }
    }

    bool IRingHost.Rebuild(Vring ring, GuestMemoryLease lease) => Rebuild(ring, lease);

    /// <summary>Resolves the ring's user addresses in <paramref name="lease"/>'s map and creates its queue there.</summary>
    private unsafe bool Rebuild(Vring ring, GuestMemoryLease lease)
    {
        var memory = lease.Memory;
        var position = ring.Queue?.Position ?? ring.Base;
        if (!memory.TryUserToGuest(ring.DescriptorUserAddress, out var descriptors)
            || !memory.TryUserToGuest(ring.AvailUserAddress, out var driverArea)
            || !memory.TryUserToGuest(ring.UsedUserAddress, out var deviceArea))
        {
            GuestFaultCore(ring, QueueError.RingOutsideMemory);
            return false;
        }

        var config = new QueueConfig(ring.Size, descriptors, driverArea, deviceArea, Has(VirtioFeature.RingEventIdx), Has(VirtioFeature.RingIndirectDesc));
        QueueError error;
        DeviceQueue? queue;
        if (IsPacked)
        {
            error = PackedQueue.TryCreate(memory, config, position, out var packed);
            queue = packed;
            if (packed is not null && _inflight is not null && ring.Index < _inflight.QueueCount)
            {
                AttachInflight(ring, packed, starting: ring.Queue is null);
            }
        }
        else
        {
            if (ring.Queue is null && memory.TryGetPointer(deviceArea + VirtqUsed.IdxOffset, 2, out var usedIdx) == MemoryFault.None)
            {
                // A split ring resumes at the used index the ring itself holds (spec: SET_VRING_BASE).
                position = position with { NextUsed = LittleEndian.ToHost(Volatile.Read(ref *(ushort*)usedIdx)) };
            }

            error = SplitQueue.TryCreate(memory, config, position, out var split);
            queue = split;
            if (split is not null && _inflight is not null && ring.Index < _inflight.QueueCount)
            {
                AttachInflight(ring, split, starting: ring.Queue is null);
            }
        }

        if (queue is null)
        {
            GuestFaultCore(ring, error);
            return false;
        }

        ring.Queue = queue;
        ring.Generation = lease.Generation;
        return true;
    }

    /// <summary>
    /// Tracks the ring in the inflight buffer. At a ring start this recovers from it (resubmitting
    /// what a previous back end left in flight); a ring only moved to a new memory map continues.
    /// </summary>
    private void AttachInflight(Vring ring, DeviceQueue queue, bool starting)
    {
        var tracker = ring.Inflight;
        var recover = starting || tracker is null;
        if (recover)
        {
            tracker = _inflight!.TrackerFor(ring.Index);
            if (_inflight.QueueSize != ring.Size || _inflight.Packed != IsPacked || !tracker.Matches)
            {
                throw new VhostUserProtocolException($"ring {ring.Index} of {ring.Size} entries does not match the inflight buffer ({_inflight.QueueSize} entries)");
            }

            ring.Inflight = tracker;
        }

        var resubmitted = (queue, tracker) switch
        {
            (SplitQueue split, SplitInflightTracker t) => split.TrackInflight(t, recover),
            (PackedQueue packed, PackedInflightTracker t) => packed.TrackInflight(t, recover),
            _ => throw new VhostUserProtocolException($"ring {ring.Index} changed format while tracked"),
        };
        if (resubmitted > 0)
        {
            _log.LogInformation("ring {Ring}: resubmitting {Count} requests left in flight", ring.Index, resubmitted);
        }
    }

    void IRingHost.GuestFault(Vring ring, QueueError error) => GuestFaultCore(ring, error);

    void IRingHost.DeviceFailed(Vring ring, Exception error)
    {
        _log.LogError(error, "{Device} failed on ring {Ring}; the device needs a reset", _device.Name, ring.Index);
        MarkNeedsReset(ring);
    }

    void IRingHost.WorkerFailed(Exception error)
    {
        _log.LogCritical(error, "a queue worker of {Device} failed; closing the connection (the device needs a reset)", _device.Name);
        _needsReset = true;
        _channel.Shutdown();
    }

    private void GuestFaultCore(Vring ring, QueueError error)
    {
        _log.LogWarning("guest error on ring {Ring}: {Error}; the device needs a reset", ring.Index, error);
        MarkNeedsReset(ring);
    }

    /// <summary>Stops the ring and tells the front end: DEVICE_NEEDS_RESET in the status, and the ring's error eventfd.</summary>
    private void MarkNeedsReset(Vring ring)
    {
        _needsReset = true;
        if (ring.Queue is not null)
        {
            ring.Base = ring.Queue.Position;
            ring.Queue = null;
        }

        ring.Err?.Signal();
    }

    private bool Has(int feature) => (_features & VirtioFeature.Bit(feature)) != 0;

    private bool IsPacked => Has(VirtioFeature.RingPacked);

    private Vring RingFor(uint index) =>
        index < (uint)_rings.Length ? _rings[index] : throw new VhostUserProtocolException($"ring {index} does not exist (the device has {_rings.Length})");

    private QueueWorker Workers(Vring ring) => _workers[_workerOfRing[ring.Index]];

    /// <summary>Changes a ring under its worker's gate, then lets the worker look at it.</summary>
    private void WithRing(Vring ring, Action<Vring> change)
    {
        var worker = Workers(ring);
        lock (worker.Gate)
        {
            change(ring);
        }

        worker.Poke();
    }

    private void PokeWorkers()
    {
        foreach (var worker in _workers)
        {
            worker.Poke();
        }
    }

    private static void RequireStopped(Vring ring)
    {
        if (ring.Queue is not null)
        {
            throw new VhostUserProtocolException($"ring {ring.Index} is running; stop it with GET_VRING_BASE first");
        }
    }

    private void RequireProtocol(int feature)
    {
        if (!Negotiated(feature))
        {
            throw new VhostUserProtocolException($"protocol feature {feature} was not negotiated");
        }
    }

    private void Expect(ReadOnlySpan<byte> payload, int size, int fds)
    {
        if (payload.Length != size || _channel.FdCount != fds)
        {
            throw new VhostUserProtocolException($"{(VhostUserRequest)_channel.Header.Request}: expected {size} bytes and {fds} descriptors, got {payload.Length} and {_channel.FdCount}");
        }
    }

    private VhostUserVringState ReadState(ReadOnlySpan<byte> payload)
    {
        Expect(payload, VhostUserVringState.Size, 0);
        return Read<VhostUserVringState>(payload);
    }

    private static T Read<T>(ReadOnlySpan<byte> payload)
        where T : unmanaged => MemoryMarshal.Read<T>(payload);

    private int ReplyU64(ulong value)
    {
        MemoryMarshal.Write(_reply, in value);
        return 8;
    }

    private void SendU64(uint request, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        MemoryMarshal.Write(bytes, in value);
        _channel.Send(request, VhostUserHeaderFlags.Version1 | VhostUserHeaderFlags.Reply, bytes);
    }

    public void Dispose()
    {
        foreach (var worker in _workers)
        {
            worker.Dispose();
        }

        foreach (var ring in _rings)
        {
            ring.Clear();
        }

        _device.Reset();
        _memory?.Dispose();
        _dirtyLog?.Dispose();
        _inflight?.Dispose();
        _channel.Dispose();
    }
}
