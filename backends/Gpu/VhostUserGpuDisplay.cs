using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Abi.VhostUser;
using IoVirt.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Backends.Gpu;

/// <summary>
/// The VMM's display over the vhost-user-gpu protocol (QEMU docs/interop/vhost-user-gpu.rst), on
/// the socket GPU_SET_SOCKET handed over: SCANOUT when a scanout changes, UPDATE with the damaged
/// region's pixels (x8r8g8b8) on each flush, and the cursor messages; GET_DISPLAY_INFO asks the
/// VMM for its windows' sizes, since the VMM owns them (it tells the guest of a change itself,
/// through the config space's events_read, and the guest then asks the device again). Protocol
/// features are negotiated (none are used) before the first message, on the device's worker: the
/// front end answers from its main loop, which may be waiting on the vhost-user socket while
/// GPU_SET_SOCKET is being handled. A front end that breaks the protocol, closes the socket or
/// leaves a request unanswered for <paramref name="replyTimeout"/> (default 10 s) ends the
/// display, never the device.
/// </summary>
public sealed class VhostUserGpuDisplay(UnixSocket socket, TimeSpan replyTimeout = default) : IGpuDisplay, IDisposable
{
    private readonly int _replyTimeoutMs = replyTimeout == default ? 10_000 : (int)replyTimeout.TotalMilliseconds;

    private byte[] _message = new byte[VhostUserHeader.Size + VhostUserGpuCursorUpdate.Size + VhostUserGpuCursorUpdate.ImageBytes];
    private bool _negotiated;
    private bool _broken;

    /// <summary>True once a send or the negotiation failed; nothing is sent after.</summary>
    public bool IsBroken => _broken;

    public void ScanoutChanged(int scanout, uint width, uint height)
    {
        var payload = new VhostUserGpuScanout { ScanoutId = (uint)scanout, Width = width, Height = height };
        Send(VhostUserGpuRequest.Scanout, Bytes(ref payload));
    }

    public void Flush(int scanout, GpuFrame frame, VirtioGpuRect damage)
    {
        var update = new VhostUserGpuUpdate { ScanoutId = (uint)scanout, X = damage.X, Y = damage.Y, Width = damage.Width, Height = damage.Height };
        var rowBytes = (int)damage.Width * 4;
        if (frame.Format is VirtioGpuFormat.B8G8R8X8Unorm or VirtioGpuFormat.B8G8R8A8Unorm && (rowBytes == frame.Stride || damage.Height == 1))
        {
            // Already x8r8g8b8 (the display ignores the fourth byte) and one run of bytes: the
            // kernel takes the rows from the resource itself, as the guest's frame buffers are.
            var start = (int)((damage.Y * frame.Stride) + (damage.X * 4));
            SendFrom(update, frame.Pixels.Slice(start, rowBytes * (int)damage.Height));
            return;
        }

        var pixels = (int)(damage.Width * damage.Height * 4);
        var body = Reserve(VhostUserGpuUpdate.Size + pixels);
        MemoryMarshal.Write(body, in update);
        for (var y = 0; y < damage.Height; y++)
        {
            var source = frame.Pixels.Slice((int)(((damage.Y + y) * frame.Stride) + (damage.X * 4)), rowBytes);
            ToX8R8G8B8(frame.Format, source, body.Slice(VhostUserGpuUpdate.Size + (y * rowBytes), rowBytes));
        }

        SendReserved(VhostUserGpuRequest.Update, body.Length);
    }

    public void MoveCursor(int scanout, uint x, uint y, bool visible)
    {
        var position = new VhostUserGpuCursorPos { ScanoutId = (uint)scanout, X = x, Y = y };
        Send(visible ? VhostUserGpuRequest.CursorPos : VhostUserGpuRequest.CursorPosHide, Bytes(ref position));
    }

    public void SetCursor(int scanout, uint x, uint y, uint hotX, uint hotY, GpuFrame image)
    {
        var body = Reserve(VhostUserGpuCursorUpdate.Size + VhostUserGpuCursorUpdate.ImageBytes);
        var update = new VhostUserGpuCursorUpdate { Position = new VhostUserGpuCursorPos { ScanoutId = (uint)scanout, X = x, Y = y }, HotX = hotX, HotY = hotY };
        MemoryMarshal.Write(body, in update);
        // a8r8g8b8 in native order is the same bytes as x8r8g8b8 with alpha kept.
        ToX8R8G8B8(image.Format, image.Pixels[..VhostUserGpuCursorUpdate.ImageBytes], body[VhostUserGpuCursorUpdate.Size..], keepAlpha: true);
        SendReserved(VhostUserGpuRequest.CursorUpdate, body.Length);
    }

    /// <summary>GET_DISPLAY_INFO: the VMM's modes for the first modes.Length scanouts; false when the display is broken (or breaks now).</summary>
    public bool TryGetModes(Span<VirtioGpuDisplayOne> modes)
    {
        if (_broken || !Negotiate())
        {
            return false;
        }

        try
        {
            Span<byte> message = stackalloc byte[VhostUserHeader.Size + VirtioGpuRespDisplayInfo.Size];
            MemoryMarshal.Write(message, new VhostUserHeader { Request = (uint)VhostUserGpuRequest.GetDisplayInfo });
            socket.Send(message[..VhostUserHeader.Size]);
            ReceiveExactly(message[..VhostUserHeader.Size]);
            var reply = MemoryMarshal.Read<VhostUserHeader>(message);
            if (reply.Request != (uint)VhostUserGpuRequest.GetDisplayInfo || (reply.Flags & VhostUserHeaderFlags.Reply) == 0 || reply.PayloadSize != VirtioGpuRespDisplayInfo.Size)
            {
                // Its payload, of a size we did not ask for, cannot be skipped safely: no more requests.
                _broken = true;
                return false;
            }

            ReceiveExactly(message[VhostUserHeader.Size..]);
            var info = MemoryMarshal.Read<VirtioGpuRespDisplayInfo>(message[VhostUserHeader.Size..]);
            if (info.Header.Type != VirtioGpuCtrlType.OkDisplayInfo)
            {
                return false;
            }

            info.Modes[..Math.Min(modes.Length, VirtioGpuConfig.MaxScanouts)].CopyTo(modes);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or TimeoutException)
        {
            _broken = true;
            return false;
        }
    }

    public void Dispose() => socket.Dispose();

    /// <summary>Writes pixels of <paramref name="format"/> as little-endian x8r8g8b8 words: blue, green, red, then alpha (or 0xff).</summary>
    public static void ToX8R8G8B8(VirtioGpuFormat format, ReadOnlySpan<byte> source, Span<byte> destination, bool keepAlpha = false)
    {
        var (r, g, b) = PngWriter.ChannelOffsets(format);
        var a = 6 - r - g - b; // the fourth byte of the four
        for (var i = 0; i < source.Length; i += 4)
        {
            destination[i] = source[i + b];
            destination[i + 1] = source[i + g];
            destination[i + 2] = source[i + r];
            destination[i + 3] = keepAlpha ? source[i + a] : (byte)0xff;
        }
    }

    private static ReadOnlySpan<byte> Bytes<T>(ref T value)
        where T : unmanaged => MemoryMarshal.AsBytes(new Span<T>(ref value));

    private void Send(VhostUserGpuRequest request, ReadOnlySpan<byte> payload)
    {
        payload.CopyTo(Reserve(payload.Length));
        SendReserved(request, payload.Length);
    }

    /// <summary>The payload part of the message buffer, grown to <paramref name="length"/>.</summary>
    private Span<byte> Reserve(int length)
    {
        if (_message.Length < VhostUserHeader.Size + length)
        {
            _message = new byte[VhostUserHeader.Size + length];
        }

        return _message.AsSpan(VhostUserHeader.Size, length);
    }

    private void SendReserved(VhostUserGpuRequest request, int payloadLength)
    {
        if (_broken || !Negotiate())
        {
            return;
        }

        var header = new VhostUserHeader { Request = (uint)request, PayloadSize = (uint)payloadLength };
        MemoryMarshal.Write(_message, in header);
        try
        {
            socket.Send(_message.AsSpan(0, VhostUserHeader.Size + payloadLength));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _broken = true;
        }
    }

    /// <summary>An UPDATE whose pixels are sent from where they lie.</summary>
    private void SendFrom(VhostUserGpuUpdate update, ReadOnlySpan<byte> pixels)
    {
        if (_broken || !Negotiate())
        {
            return;
        }

        Span<byte> head = stackalloc byte[VhostUserHeader.Size + VhostUserGpuUpdate.Size];
        MemoryMarshal.Write(head, new VhostUserHeader { Request = (uint)VhostUserGpuRequest.Update, PayloadSize = (uint)(VhostUserGpuUpdate.Size + pixels.Length) });
        MemoryMarshal.Write(head[VhostUserHeader.Size..], in update);
        try
        {
            socket.Send(head, pixels);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _broken = true;
        }
    }

    /// <summary>GET_PROTOCOL_FEATURES, then SET_PROTOCOL_FEATURES with none; false when the front end does not answer as the protocol says.</summary>
    private bool Negotiate()
    {
        if (_negotiated)
        {
            return true;
        }

        try
        {
            Span<byte> message = stackalloc byte[VhostUserHeader.Size + sizeof(ulong)];
            MemoryMarshal.Write(message, new VhostUserHeader { Request = (uint)VhostUserGpuRequest.GetProtocolFeatures });
            socket.Send(message[..VhostUserHeader.Size]);
            ReceiveExactly(message);
            var reply = MemoryMarshal.Read<VhostUserHeader>(message);
            if (reply.Request != (uint)VhostUserGpuRequest.GetProtocolFeatures || (reply.Flags & VhostUserHeaderFlags.Reply) == 0 || reply.PayloadSize != sizeof(ulong))
            {
                _broken = true;
                return false;
            }

            MemoryMarshal.Write(message, new VhostUserHeader { Request = (uint)VhostUserGpuRequest.SetProtocolFeatures, PayloadSize = sizeof(ulong) });
            MemoryMarshal.Write(message[VhostUserHeader.Size..], 0UL);
            socket.Send(message);
            _negotiated = true;
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or TimeoutException)
        {
            _broken = true;
            return false;
        }
    }

    /// <summary>Reads exactly buffer's length of a reply; TimeoutException when the front end is silent for the reply timeout.</summary>
    private void ReceiveExactly(Span<byte> buffer)
    {
        Span<SafeFileHandle?> fds = new SafeFileHandle?[UnixSocket.MaxFds];
        while (!buffer.IsEmpty)
        {
            if (!socket.WaitReadable(_replyTimeoutMs))
            {
                throw new TimeoutException($"the display did not answer within {_replyTimeoutMs} ms");
            }

            var read = socket.Receive(buffer, fds, out var fdCount);
            foreach (var fd in fds[..fdCount])
            {
                fd?.Dispose(); // no reply carries descriptors
            }

            if (read == 0)
            {
                throw new IOException("the display closed its socket");
            }

            buffer = buffer[read..];
        }
    }
}
