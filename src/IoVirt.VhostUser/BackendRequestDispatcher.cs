using System.Runtime.InteropServices;
using IoVirt.Abi.VhostUser;
using IoVirt.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.VhostUser;

/// <summary>
/// The one place a back end checks front-end messages: each is read, its header, payload size,
/// descriptor count and protocol feature are checked, and only then is it handed to the typed
/// method of an <see cref="IVhostUserBackendHandler"/>; the answer goes back as the request's
/// reply, a REPLY_ACK or a status word. A message that breaks the protocol ends the connection.
/// </summary>
public sealed class BackendRequestDispatcher(MessageChannel channel, IVhostUserBackendHandler handler, ILogger log)
{
    /// <summary>The answer of a request without an explicit reply (REPLY_ACK may still answer it).</summary>
    private const int NoReply = -1;

    private readonly byte[] _reply = new byte[MessageChannel.MaxPayload];
    private SafeFileHandle? _replyFile;
    private VhostUserProtocolFeatures _protocolFeatures;

    /// <summary>Serves messages until the front end disconnects (true) or breaks the protocol (false; logged).</summary>
    public bool Serve()
    {
        try
        {
            while (channel.Receive())
            {
                ServeOne(channel.Header);
            }

            log.LogInformation("front end disconnected");
            return true;
        }
        catch (VhostUserProtocolException e)
        {
            log.LogError("closing the connection: {Reason}", e.Message);
            return false;
        }
        catch (IOException e)
        {
            log.LogError("closing the connection: {Reason}", e.Message);
            return false;
        }
        finally
        {
            channel.CloseFds();
            _replyFile?.Dispose();
            _replyFile = null;
        }
    }

    private void ServeOne(VhostUserHeader header)
    {
        if ((header.Flags & VhostUserHeaderFlags.VersionMask) != VhostUserHeaderFlags.Version1 || (header.Flags & VhostUserHeaderFlags.Reply) != 0)
        {
            throw new VhostUserProtocolException($"bad header flags 0x{header.Flags:x} on request {header.Request}");
        }

        var request = (VhostUserRequest)header.Request;
        if (log.IsEnabled(LogLevel.Debug))
        {
            log.LogDebug("vhost-user {Request}: {Bytes} bytes, {Fds} descriptors", request, channel.Payload.Length, channel.FdCount);
        }

        var wantsAck = Negotiated(VhostUserProtocolFeatures.ReplyAck) && (header.Flags & VhostUserHeaderFlags.NeedReply) != 0;
        bool ok;
        int replySize;
        try
        {
            replySize = Dispatch(request, channel.Payload);
            ok = true;
        }
        catch (VhostUserProtocolException e) when (wantsAck || RepliesWithStatus(request))
        {
            log.LogWarning("vhost-user {Request} refused: {Reason}", request, e.Message);
            replySize = NoReply;
            ok = false;
        }

        if (replySize != NoReply)
        {
            var file = _replyFile;
            _replyFile = null;
            using (file)
            {
                int[] fds = file is null ? [] : [(int)file.DangerousGetHandle()];
                channel.Send(header.Request, VhostUserHeaderFlags.Version1 | VhostUserHeaderFlags.Reply, _reply.AsSpan(0, replySize), fds);
            }
        }
        else if (wantsAck || (!ok && RepliesWithStatus(request)))
        {
            Span<byte> word = stackalloc byte[8];
            var status = ok ? 0UL : RefusalFor(request);
            MemoryMarshal.Write(word, in status);
            channel.Send(header.Request, VhostUserHeaderFlags.Version1 | VhostUserHeaderFlags.Reply, word);
        }
    }

    /// <summary>Requests whose own reply is a u64 status, so a refusal is answered, not a closed connection.</summary>
    private static bool RepliesWithStatus(VhostUserRequest request) =>
        request is VhostUserRequest.SetLogBase or VhostUserRequest.SetDeviceStateFd;

    /// <summary>The refusal word: SET_DEVICE_STATE_FD also says that no descriptor comes back.</summary>
    private static ulong RefusalFor(VhostUserRequest request) =>
        request == VhostUserRequest.SetDeviceStateFd ? 1 | VhostUserVringIndex.NoFdFlag : 1;

    private bool Negotiated(VhostUserProtocolFeatures feature) => (_protocolFeatures & feature) != 0;

    /// <summary>Checks one message and calls its handler method; returns the size of a reply written to <see cref="_reply"/>, or <see cref="NoReply"/>.</summary>
    private int Dispatch(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        switch (request)
        {
            case VhostUserRequest.GetFeatures:
                Expect(payload, 0, 0);
                return ReplyU64(handler.GetFeatures());
            case VhostUserRequest.SetFeatures:
                Expect(payload, 8, 0);
                handler.SetFeatures(Read<ulong>(payload));
                return NoReply;
            case VhostUserRequest.GetProtocolFeatures:
                Expect(payload, 0, 0);
                return ReplyU64((ulong)handler.GetProtocolFeatures());
            case VhostUserRequest.SetProtocolFeatures:
                Expect(payload, 8, 0);
                var protocolFeatures = Read<VhostUserProtocolFeatures>(payload);
                handler.SetProtocolFeatures(protocolFeatures);
                _protocolFeatures = protocolFeatures;
                return NoReply;
            case VhostUserRequest.SetOwner:
                Expect(payload, 0, 0);
                handler.SetOwner();
                return NoReply;
            case VhostUserRequest.ResetOwner:
                Expect(payload, 0, 0);
                handler.ResetOwner();
                return NoReply;
            case VhostUserRequest.GetQueueNum:
                Expect(payload, 0, 0);
                RequireProtocol(VhostUserProtocolFeatures.Mq);
                return ReplyU64(handler.GetQueueNum());
            case VhostUserRequest.SetMemTable:
                SetMemTable(payload);
                return NoReply;
            case VhostUserRequest.GetMaxMemSlots:
                Expect(payload, 0, 0);
                RequireProtocol(VhostUserProtocolFeatures.ConfigureMemSlots);
                return ReplyU64(handler.GetMaxMemSlots());
            case VhostUserRequest.AddMemReg:
                RequireProtocol(VhostUserProtocolFeatures.ConfigureMemSlots);
                Expect(payload, VhostUserSingleMemoryRegion.Size, 1);
                using (var file = channel.TakeFd(0))
                {
                    handler.AddMemoryRegion(Read<VhostUserSingleMemoryRegion>(payload).Region, file);
                }

                return NoReply;
            case VhostUserRequest.RemMemReg:
                RequireProtocol(VhostUserProtocolFeatures.ConfigureMemSlots);

                // A descriptor sent along is tolerated and closed unused, as the spec allows.
                if (payload.Length != VhostUserSingleMemoryRegion.Size || channel.FdCount > 1)
                {
                    throw new VhostUserProtocolException("REM_MEM_REG needs one region and at most one descriptor");
                }

                handler.RemoveMemoryRegion(Read<VhostUserSingleMemoryRegion>(payload).Region);
                return NoReply;
            case VhostUserRequest.SetVringNum:
                var size = ReadState(payload);
                handler.SetVringNum(size.Index, size.Num);
                return NoReply;
            case VhostUserRequest.SetVringAddr:
                Expect(payload, VhostUserVringAddr.Size, 0);
                handler.SetVringAddr(Read<VhostUserVringAddr>(payload));
                return NoReply;
            case VhostUserRequest.SetVringBase:
                var vringBase = ReadState(payload);
                handler.SetVringBase(vringBase.Index, vringBase.Num);
                return NoReply;
            case VhostUserRequest.GetVringBase:
                var index = ReadState(payload).Index;
                var stopped = new VhostUserVringState { Index = index, Num = handler.GetVringBase(index) };
                MemoryMarshal.Write(_reply, in stopped);
                return VhostUserVringState.Size;
            case VhostUserRequest.SetVringKick:
            case VhostUserRequest.SetVringCall:
            case VhostUserRequest.SetVringErr:
                SetVringFd(request, payload);
                return NoReply;
            case VhostUserRequest.SetVringEnable:
                var enable = ReadState(payload);
                if (enable.Num > 1)
                {
                    throw new VhostUserProtocolException($"ring {enable.Index}: enable value {enable.Num}");
                }

                handler.SetVringEnable(enable.Index, enable.Num == 1);
                return NoReply;
            case VhostUserRequest.GetConfig:
                return GetConfig(payload);
            case VhostUserRequest.SetConfig:
                var written = ReadConfigHeader(payload);
                handler.SetConfig(written.Offset, payload.Slice(VhostUserConfigHeader.Size, (int)written.ConfigSize));
                return NoReply;
            case VhostUserRequest.SetLogBase:
                RequireProtocol(VhostUserProtocolFeatures.LogShmfd);
                Expect(payload, VhostUserLog.Size, 1);
                using (var file = channel.TakeFd(0))
                {
                    handler.SetLogBase(Read<VhostUserLog>(payload), file);
                }

                return ReplyU64(0);
            case VhostUserRequest.SetLogFd:
                // The optional "log changed" eventfd: this back end never signals it (the front end
                // reads the log after stopping the rings), so it is accepted and closed.
                Expect(payload, 0, 1);
                RequireProtocol(VhostUserProtocolFeatures.LogShmfd);
                return NoReply;
            case VhostUserRequest.GpuSetSocket:
                Expect(payload, 0, 1);
                handler.SetGpuSocket(channel.TakeFd(0));
                return NoReply;
            case VhostUserRequest.SendRarp:
                Expect(payload, 8, 0);
                RequireProtocol(VhostUserProtocolFeatures.Rarp);
                handler.SendRarp(payload);
                return NoReply;
            case VhostUserRequest.SetDeviceStateFd:
                RequireProtocol(VhostUserProtocolFeatures.DeviceState);
                Expect(payload, VhostUserDeviceStateTransfer.Size, 1);
                var transfer = Read<VhostUserDeviceStateTransfer>(payload);
                handler.SetDeviceStateFd(transfer.Direction, transfer.Phase, channel.TakeFd(0));

                // Success, and no descriptor of the back end's own comes back.
                return ReplyU64(VhostUserVringIndex.NoFdFlag);
            case VhostUserRequest.CheckDeviceState:
                Expect(payload, 0, 0);
                RequireProtocol(VhostUserProtocolFeatures.DeviceState);
                return ReplyU64(handler.CheckDeviceState() ? 0UL : 1UL);
            case VhostUserRequest.GetInflightFd:
                var made = handler.GetInflightFd(ReadInflight(payload, fds: 0), out _replyFile);
                MemoryMarshal.Write(_reply, in made);
                return VhostUserInflight.Size;
            case VhostUserRequest.SetInflightFd:
                var kept = ReadInflight(payload, fds: 1);
                using (var file = channel.TakeFd(0))
                {
                    handler.SetInflightFd(kept, file);
                }

                return NoReply;
            case VhostUserRequest.ResetDevice:
                Expect(payload, 0, 0);
                RequireProtocol(VhostUserProtocolFeatures.ResetDevice);
                handler.ResetDevice();
                return NoReply;
            case VhostUserRequest.SetStatus:
                Expect(payload, 8, 0);
                RequireProtocol(VhostUserProtocolFeatures.Status);
                var status = Read<ulong>(payload);
                handler.SetStatus(status <= byte.MaxValue ? (byte)status : throw new VhostUserProtocolException($"status 0x{status:x}"));
                return NoReply;
            case VhostUserRequest.GetStatus:
                Expect(payload, 0, 0);
                RequireProtocol(VhostUserProtocolFeatures.Status);
                return ReplyU64(handler.GetStatus());
            default:
                // Everything else (IOTLB, MTU, endianness, crypto, postcopy,
                // the back-end channel, GPU, in-band kicks, shared objects, shared memory)
                // belongs to a protocol feature this back end does not offer.
                throw new VhostUserProtocolException($"request {request} needs a feature this back end does not offer");
        }
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
        var regions = MemoryMarshal.Cast<byte, VhostUserMemoryRegion>(payload[VhostUserMemoryHeader.Size..]);
        var files = new SafeFileHandle[count];
        for (var i = 0; i < files.Length; i++)
        {
            files[i] = channel.TakeFd(i);
        }

        try
        {
            handler.SetMemTable(regions, files);
        }
        finally
        {
            foreach (var file in files)
            {
                file.Dispose();
            }
        }
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
        var index = (uint)(value & VhostUserVringIndex.IndexMask);
        var eventFd = noFd ? null : EventFd.Adopt(channel.TakeFd(0));
        switch (request)
        {
            case VhostUserRequest.SetVringKick:
                handler.SetVringKick(index, eventFd);
                break;
            case VhostUserRequest.SetVringCall:
                handler.SetVringCall(index, eventFd);
                break;
            default:
                handler.SetVringErr(index, eventFd);
                break;
        }
    }

    private int GetConfig(ReadOnlySpan<byte> payload)
    {
        var header = ReadConfigHeader(payload);
        MemoryMarshal.Write(_reply, in header);
        var data = _reply.AsSpan(VhostUserConfigHeader.Size, (int)header.ConfigSize);

        // The spec's error answer is a reply without payload.
        return handler.GetConfig(header.Offset, data) ? VhostUserConfigHeader.Size + data.Length : 0;
    }

    private VhostUserConfigHeader ReadConfigHeader(ReadOnlySpan<byte> payload)
    {
        RequireProtocol(VhostUserProtocolFeatures.Config);
        if (payload.Length < VhostUserConfigHeader.Size || channel.FdCount != 0)
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

    private VhostUserInflight ReadInflight(ReadOnlySpan<byte> payload, int fds)
    {
        RequireProtocol(VhostUserProtocolFeatures.InflightShmfd);
        Expect(payload, VhostUserInflight.Size, fds);
        return Read<VhostUserInflight>(payload);
    }

    private void RequireProtocol(VhostUserProtocolFeatures feature)
    {
        if (!Negotiated(feature))
        {
            throw new VhostUserProtocolException($"protocol feature {feature} was not negotiated");
        }
    }

    private void Expect(ReadOnlySpan<byte> payload, int size, int fds)
    {
        if (payload.Length != size || channel.FdCount != fds)
        {
            throw new VhostUserProtocolException($"{(VhostUserRequest)channel.Header.Request}: expected {size} bytes and {fds} descriptors, got {payload.Length} and {channel.FdCount}");
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
}
