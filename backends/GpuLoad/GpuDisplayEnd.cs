using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Abi.VhostUser;
using IoVirt.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Backends.Gpu.Load;

/// <summary>
/// The VMM's end of the vhost-user-gpu display socket (QEMU docs/interop/vhost-user-gpu.rst), as
/// QEMU's display plays it, on a thread of its own: it offers no protocol features, answers
/// GET_DISPLAY_INFO with one scanout of the given size, and keeps what the last UPDATE showed at
/// its top-left pixel, which a waiter can ask for.
/// </summary>
public sealed class GpuDisplayEnd : IDisposable
{
    private readonly UnixSocket _socket;
    private readonly uint _width;
    private readonly uint _height;
    private readonly Thread _thread;
    private readonly object _lock = new();
    private readonly SafeFileHandle?[] _fds = new SafeFileHandle?[UnixSocket.MaxFds];
    private byte[] _payload = new byte[1 << 16];
    private uint _lastPixel;
    private long _updates;
    private long _updateBytes;
    private Exception? _failure;
    private bool _closed;

    public GpuDisplayEnd(UnixSocket socket, uint width, uint height)
    {
        _socket = socket;
        _width = width;
        _height = height;
        _thread = SelfNamedThread.Create("gpu-display", Run);
        _thread.Start();
    }

    /// <summary>UPDATE messages received.</summary>
    public long Updates => Interlocked.Read(ref _updates);

    /// <summary>Pixel bytes those updates carried.</summary>
    public long UpdateBytes => Interlocked.Read(ref _updateBytes);

    /// <summary>
    /// Waits until an update's top-left pixel (x8r8g8b8, its blue, green and red bytes) holds
    /// <paramref name="stamp"/> (24 bits); false after <paramref name="timeoutMs"/>. Throws when
    /// the back end broke the protocol or closed the socket.
    /// </summary>
    public bool WaitForPixel(uint stamp, int timeoutMs)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        lock (_lock)
        {
            while ((_lastPixel & 0xffffff) != (stamp & 0xffffff))
            {
                if (_failure is not null || _closed)
                {
                    throw new IOException("the back end's display socket " + (_failure?.Message ?? "closed"), _failure);
                }

                var left = deadline - Environment.TickCount64;
                if (left <= 0 || !Monitor.Wait(_lock, (int)left))
                {
                    return false;
                }
            }

            return true;
        }
    }

    public void Dispose()
    {
        // shutdown() wakes the reader from its receive; closing alone would not.
        _socket.Shutdown();
        _thread.Join();
        _socket.Dispose();
    }

    private void Run()
    {
        try
        {
            Span<byte> header = stackalloc byte[VhostUserHeader.Size];
            while (ReceiveExactly(header))
            {
                var message = MemoryMarshal.Read<VhostUserHeader>(header);
                if (message.PayloadSize > _payload.Length)
                {
                    _payload = new byte[message.PayloadSize];
                }

                var payload = _payload.AsSpan(0, (int)message.PayloadSize);
                if (!ReceiveExactly(payload))
                {
                    break;
                }

                Handle((VhostUserGpuRequest)message.Request, payload);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            lock (_lock)
            {
                _failure = e;
            }
        }

        lock (_lock)
        {
            _closed = true;
            Monitor.PulseAll(_lock);
        }
    }

    private void Handle(VhostUserGpuRequest request, ReadOnlySpan<byte> payload)
    {
        switch (request)
        {
            case VhostUserGpuRequest.GetProtocolFeatures:
                Reply(request, stackalloc byte[sizeof(ulong)]);
                break;
            case VhostUserGpuRequest.GetDisplayInfo:
                var info = default(VirtioGpuRespDisplayInfo);
                info.Header = new VirtioGpuCtrlHeader { Type = VirtioGpuCtrlType.OkDisplayInfo };
                info.Modes[0].Rect = new VirtioGpuRect(0, 0, _width, _height);
                info.Modes[0].Enabled = 1;
                Reply(request, MemoryMarshal.AsBytes(new ReadOnlySpan<VirtioGpuRespDisplayInfo>(in info)));
                break;
            case VhostUserGpuRequest.Update when payload.Length >= VhostUserGpuUpdate.Size + sizeof(uint):
                var update = MemoryMarshal.Read<VhostUserGpuUpdate>(payload);
                Interlocked.Increment(ref _updates);
                Interlocked.Add(ref _updateBytes, payload.Length - VhostUserGpuUpdate.Size);
                if (update.X == 0 && update.Y == 0)
                {
                    lock (_lock)
                    {
                        _lastPixel = MemoryMarshal.Read<uint>(payload[VhostUserGpuUpdate.Size..]);
                        Monitor.PulseAll(_lock);
                    }
                }

                break;
            case VhostUserGpuRequest.DmabufUpdate or VhostUserGpuRequest.GetEdid:
                throw new InvalidOperationException($"{request}, which needs a protocol feature this display never offered");
            default:
                break; // scanouts and the cursor need no answer
        }
    }

    private void Reply(VhostUserGpuRequest request, ReadOnlySpan<byte> payload)
    {
        var header = new VhostUserHeader { Request = (uint)request, Flags = VhostUserHeaderFlags.Reply, PayloadSize = (uint)payload.Length };
        Span<byte> message = stackalloc byte[VhostUserHeader.Size + payload.Length];
        MemoryMarshal.Write(message, in header);
        payload.CopyTo(message[VhostUserHeader.Size..]);
        _socket.Send(message);
    }

    /// <summary>Fills <paramref name="buffer"/>; false when the socket closed first.</summary>
    private bool ReceiveExactly(Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var read = _socket.Receive(buffer, _fds, out var count);
            for (var i = 0; i < count; i++)
            {
                _fds[i]?.Dispose(); // no message this display accepts carries one
            }

            if (read <= 0)
            {
                return false;
            }

            buffer = buffer[read..];
        }

        return true;
    }
}
