using System.Runtime.InteropServices;
using IoVirt.Abi.VhostUser;
using IoVirt.Interop;
using IoVirt.Memory;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.VhostUser;

/// <summary>
/// The front-end side of vhost-user: connects to a back end and sends it requests, one typed
/// method per message. Once REPLY_ACK is negotiated every request without a reply of its own
/// asks for an acknowledgement, so a refusal surfaces here as a <see cref="VhostUserProtocolException"/>.
/// Used by tests, the load generator and the reference VMM.
/// </summary>
public sealed class VhostUserFrontend : IDisposable
{
    private readonly MessageChannel _channel;
    private bool _replyAck;

    private VhostUserFrontend(UnixSocket socket) => _channel = new MessageChannel(socket);

    public static VhostUserFrontend Connect(string socketPath) => new(UnixSocket.Connect(socketPath));

    /// <summary>A front end on a socket connected already (one end of <see cref="UnixSocket.Pair"/>); it takes the socket over.</summary>
    public static VhostUserFrontend Over(UnixSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return new VhostUserFrontend(socket);
    }

    public ulong GetFeatures() => RequestU64(VhostUserRequest.GetFeatures);

    public void SetFeatures(ulong features) => Command(VhostUserRequest.SetFeatures, features);

    public VhostUserProtocolFeatures GetProtocolFeatures() => (VhostUserProtocolFeatures)RequestU64(VhostUserRequest.GetProtocolFeatures);

    /// <summary>Sets the protocol features; from here on, acknowledgements are requested when REPLY_ACK is among them.</summary>
    public void SetProtocolFeatures(VhostUserProtocolFeatures features)
    {
        Command(VhostUserRequest.SetProtocolFeatures, (ulong)features);
        _replyAck = (features & VhostUserProtocolFeatures.ReplyAck) != 0;
    }

    public void SetOwner() => Command(VhostUserRequest.SetOwner, []);

    public void ResetOwner() => Command(VhostUserRequest.ResetOwner, []);

    public ulong GetQueueNum() => RequestU64(VhostUserRequest.GetQueueNum);

    public ulong GetMaxMemSlots() => RequestU64(VhostUserRequest.GetMaxMemSlots);

    /// <summary>Sends the memory table of <paramref name="memory"/>; every region must keep its file (memfd regions do).</summary>
    public void SetMemTable(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        var regions = memory.Regions;
        Span<byte> payload = stackalloc byte[VhostUserMemoryHeader.Size + (VhostUserMemoryHeader.MaxRegions * VhostUserMemoryRegion.Size)];
        Span<int> fds = stackalloc int[VhostUserMemoryHeader.MaxRegions];
        if (regions.Length > VhostUserMemoryHeader.MaxRegions)
        {
            throw new ArgumentException($"SET_MEM_TABLE carries at most {VhostUserMemoryHeader.MaxRegions} regions.", nameof(memory));
        }

        var header = new VhostUserMemoryHeader { NRegions = (uint)regions.Length };
        MemoryMarshal.Write(payload, in header);
        for (var i = 0; i < regions.Length; i++)
        {
            var entry = Describe(regions[i], out fds[i]);
            MemoryMarshal.Write(payload[(VhostUserMemoryHeader.Size + (i * VhostUserMemoryRegion.Size))..], in entry);
        }

        Command(VhostUserRequest.SetMemTable, payload[..(VhostUserMemoryHeader.Size + (regions.Length * VhostUserMemoryRegion.Size))], fds[..regions.Length]);
    }

    public void AddMemoryRegion(GuestRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        var single = new VhostUserSingleMemoryRegion { Region = Describe(region, out var fd) };
        Command(VhostUserRequest.AddMemReg, MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserSingleMemoryRegion>(in single)), [fd]);
    }

    public void RemoveMemoryRegion(GuestRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        var single = new VhostUserSingleMemoryRegion { Region = Describe(region, out _) };
        Command(VhostUserRequest.RemMemReg, MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserSingleMemoryRegion>(in single)));
    }

    public void SetVringNum(uint index, uint size) => Command(VhostUserRequest.SetVringNum, State(index, size));

    /// <summary>Sets a ring's addresses, given as front-end (user) addresses.</summary>
    public void SetVringAddr(uint index, ulong descriptors, ulong driverArea, ulong deviceArea)
    {
        var addr = new VhostUserVringAddr { Index = index, DescUserAddr = descriptors, AvailUserAddr = driverArea, UsedUserAddr = deviceArea };
        Command(VhostUserRequest.SetVringAddr, MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserVringAddr>(in addr)));
    }

    public void SetVringBase(uint index, uint value) => Command(VhostUserRequest.SetVringBase, State(index, value));

    /// <summary>Stops the ring and returns where the back end stands in it.</summary>
    public uint GetVringBase(uint index)
    {
        Send(VhostUserRequest.GetVringBase, State(index, 0), [], needReply: false);
        return MemoryMarshal.Read<VhostUserVringState>(ReceiveReply(VhostUserRequest.GetVringBase, VhostUserVringState.Size)).Num;
    }

    /// <summary>Sets the kick eventfd (null: the back end polls), which starts the ring.</summary>
    public void SetVringKick(uint index, EventFd? kick) => SetVringFd(VhostUserRequest.SetVringKick, index, kick);

    public void SetVringCall(uint index, EventFd? call) => SetVringFd(VhostUserRequest.SetVringCall, index, call);

    public void SetVringErr(uint index, EventFd? err) => SetVringFd(VhostUserRequest.SetVringErr, index, err);

    /// <summary>GPU_SET_SOCKET: hands the back end its end of the vhost-user-gpu display socket.</summary>
    public void SetGpuSocket(UnixSocket display) => Command(VhostUserRequest.GpuSetSocket, [], [display.Fd]);

    /// <summary>SEND_RARP (needs the RARP protocol feature): the guest with <paramref name="mac"/> migrated to this back end.</summary>
    public void SendRarp(ReadOnlySpan<byte> mac)
    {
        Span<byte> payload = stackalloc byte[8];
        payload.Clear();
        mac[..6].CopyTo(payload);
        Command(VhostUserRequest.SendRarp, payload);
    }

    public void SetVringEnable(uint index, bool enable) => Command(VhostUserRequest.SetVringEnable, State(index, enable ? 1u : 0u));

    /// <summary>
    /// Reads <paramref name="length"/> bytes of the device config space at <paramref name="offset"/>;
    /// an empty result is the back end's refusal. The request always starts at offset 0 and the
    /// slice is cut here: that is how QEMU asks, and back ends built on libvhost-user
    /// (qemu-storage-daemon among them) ignore the message's offset and answer from 0.
    /// </summary>
    public byte[] GetConfig(uint offset, uint length)
    {
        var end = checked(offset + length);
        var payload = new byte[VhostUserConfigHeader.Size + end];
        var header = new VhostUserConfigHeader { Offset = 0, ConfigSize = end };
        MemoryMarshal.Write(payload, in header);
        Send(VhostUserRequest.GetConfig, payload, [], needReply: false);
        var reply = ReceiveReply(VhostUserRequest.GetConfig, -1);
        var start = VhostUserConfigHeader.Size + (int)offset;
        return reply.Length <= start ? [] : reply.Slice(start, Math.Min(reply.Length - start, (int)length)).ToArray();
    }

    public void SetConfig(uint offset, ReadOnlySpan<byte> data)
    {
        var payload = new byte[VhostUserConfigHeader.Size + data.Length];
        var header = new VhostUserConfigHeader { Offset = offset, ConfigSize = (uint)data.Length };
        MemoryMarshal.Write(payload, in header);
        data.CopyTo(payload.AsSpan(VhostUserConfigHeader.Size));
        Command(VhostUserRequest.SetConfig, payload);
    }

    /// <summary>Asks the back end for an inflight buffer for <paramref name="queues"/> queues of <paramref name="queueSize"/>; the front end keeps <paramref name="file"/>.</summary>
    public VhostUserInflight GetInflightFd(ushort queues, ushort queueSize, out SafeFileHandle file)
    {
        var request = new VhostUserInflight { NumQueues = queues, QueueSize = queueSize };
        Send(VhostUserRequest.GetInflightFd, MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserInflight>(in request)), [], needReply: false);
        var reply = MemoryMarshal.Read<VhostUserInflight>(ReceiveReply(VhostUserRequest.GetInflightFd, VhostUserInflight.Size));
        file = _channel.TakeFd(0);
        return reply;
    }

    /// <summary>Hands a kept inflight buffer to a (new) back end.</summary>
    public void SetInflightFd(VhostUserInflight description, SafeFileHandle file)
    {
        ArgumentNullException.ThrowIfNull(file);
        Command(VhostUserRequest.SetInflightFd, MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserInflight>(in description)), [(int)file.DangerousGetHandle()]);
    }

    /// <summary>Hands the back end a dirty log (LOG_SHMFD): <paramref name="size"/> bytes of <paramref name="file"/> from <paramref name="offset"/>.</summary>
    public void SetLogBase(SafeFileHandle file, ulong size, ulong offset = 0)
    {
        ArgumentNullException.ThrowIfNull(file);
        var log = new VhostUserLog { MmapSize = size, MmapOffset = offset };
        Send(VhostUserRequest.SetLogBase, MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserLog>(in log)), [(int)file.DangerousGetHandle()], needReply: false);
        var status = MemoryMarshal.Read<ulong>(ReceiveReply(VhostUserRequest.SetLogBase, 8));
        if (status != 0)
        {
            throw new VhostUserProtocolException($"the back end refused SetLogBase (status {status})");
        }
    }

    /// <summary>Sets a ring's addresses with used-ring logging at <paramref name="logGuestAddress"/>.</summary>
    public void SetVringAddrLogged(uint index, ulong descriptors, ulong driverArea, ulong deviceArea, ulong logGuestAddress)
    {
        var addr = new VhostUserVringAddr { Index = index, Flags = VhostUserVringAddrFlags.Log, DescUserAddr = descriptors, AvailUserAddr = driverArea, UsedUserAddr = deviceArea, LogGuestAddr = logGuestAddress };
        Command(VhostUserRequest.SetVringAddr, MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserVringAddr>(in addr)));
    }

    /// <summary>Starts a device state transfer through <paramref name="channel"/> (one end of a pipe); returns the back end's reply word.</summary>
    public ulong SetDeviceStateFd(VhostUserTransferDirection direction, SafeHandle channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var transfer = new VhostUserDeviceStateTransfer { Direction = direction, Phase = VhostUserMigrationPhase.Stopped };
        Send(VhostUserRequest.SetDeviceStateFd, MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserDeviceStateTransfer>(in transfer)), [(int)channel.DangerousGetHandle()], needReply: false);
        return MemoryMarshal.Read<ulong>(ReceiveReply(VhostUserRequest.SetDeviceStateFd, 8));
    }

    /// <summary>Asks whether the last device state transfer succeeded on the back end (0: yes).</summary>
    public ulong CheckDeviceState() => RequestU64(VhostUserRequest.CheckDeviceState);

    public void ResetDevice() => Command(VhostUserRequest.ResetDevice, []);

    public void SetStatus(byte status) => Command(VhostUserRequest.SetStatus, status);

    public byte GetStatus() => (byte)RequestU64(VhostUserRequest.GetStatus);

    /// <summary>
    /// Sends any message as given, for tests of malformed input: nothing is checked here.
    /// Returns the reply payload when <paramref name="expectReply"/> is set.
    /// </summary>
    public byte[]? SendRaw(uint request, uint flags, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds, bool expectReply)
    {
        _channel.Send(request, (VhostUserHeaderFlags)flags, payload, fds);
        return expectReply ? ReceiveReply((VhostUserRequest)request, -1).ToArray() : null;
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for the back end to close the connection (it
    /// exited or was killed), without sending anything; true when it has. Safe beside requests
    /// made from another thread.
    /// </summary>
    public bool WaitForHangup(int timeoutMs) => _channel.WaitForHangup(timeoutMs);

    /// <summary>True when the back end closed the connection (probes with a request that needs a reply).</summary>
    public bool IsClosedByPeer()
    {
        try
        {
            _channel.Send((uint)VhostUserRequest.GetFeatures, VhostUserHeaderFlags.Version1, []);
            return !_channel.Receive();
        }
        catch (IOException)
        {
            return true;
        }
    }

    private void SetVringFd(VhostUserRequest request, uint index, EventFd? fd)
    {
        var value = index | (fd is null ? VhostUserVringIndex.NoFdFlag : 0);
        if (fd is null)
        {
            Command(request, value);
        }
        else
        {
            Command(request, MemoryMarshal.AsBytes(new ReadOnlySpan<ulong>(in value)), [fd.Fd]);
        }
    }

    private static VhostUserMemoryRegion Describe(GuestRegion region, out int fd)
    {
        var file = region.File ?? throw new ArgumentException("Only regions that keep their file (memfd) can be shared with a back end.", nameof(region));
        fd = (int)file.DangerousGetHandle();
        return new VhostUserMemoryRegion { GuestPhysAddr = region.GuestAddress, MemorySize = region.Size, UserspaceAddr = region.UserAddress, MmapOffset = region.FileOffset };
    }

    private static byte[] State(uint index, uint num)
    {
        var state = new VhostUserVringState { Index = index, Num = num };
        return MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserVringState>(in state)).ToArray();
    }

    private void Command(VhostUserRequest request, ulong value) => Command(request, MemoryMarshal.AsBytes(new ReadOnlySpan<ulong>(in value)));

    /// <summary>A request without a reply of its own; with REPLY_ACK, waits for the acknowledgement and throws on refusal.</summary>
    private void Command(VhostUserRequest request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default)
    {
        Send(request, payload, fds, _replyAck);
        if (_replyAck)
        {
            var status = MemoryMarshal.Read<ulong>(ReceiveReply(request, 8));
            if (status != 0)
            {
                throw new VhostUserProtocolException($"the back end refused {request} (status {status})");
            }
        }
    }

    private ulong RequestU64(VhostUserRequest request)
    {
        Send(request, [], [], needReply: false);
        return MemoryMarshal.Read<ulong>(ReceiveReply(request, 8));
    }

    private void Send(VhostUserRequest request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds, bool needReply) =>
        _channel.Send((uint)request, VhostUserHeaderFlags.Version1 | (needReply ? VhostUserHeaderFlags.NeedReply : VhostUserHeaderFlags.None), payload, fds);

    /// <summary>Reads the reply to <paramref name="request"/>, checking its header (and its size unless <paramref name="size"/> is -1).</summary>
    private ReadOnlySpan<byte> ReceiveReply(VhostUserRequest request, int size)
    {
        if (!_channel.Receive())
        {
            throw new IOException($"the back end closed the connection instead of answering {request}");
        }

        var header = _channel.Header;
        if (header.Request != (uint)request || (header.Flags & VhostUserHeaderFlags.Reply) == 0 || (size >= 0 && header.PayloadSize != size))
        {
            throw new VhostUserProtocolException($"bad reply to {request}: request {header.Request}, flags 0x{header.Flags:x}, {header.PayloadSize} bytes");
        }

        return _channel.Payload;
    }

    public void Dispose() => _channel.Dispose();
}
