using System.Runtime.InteropServices;
using IoVirt.Abi.VhostUser;
using IoVirt.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.VhostUser;

/// <summary>
/// Framing of one vhost-user connection, either side: a 12-byte header, then the payload the
/// header announces; file descriptors travel with the header. Received descriptors belong to
/// the channel until taken with <see cref="TakeFd"/>; the rest are closed before the next message.
/// </summary>
public sealed class MessageChannel(UnixSocket socket) : IDisposable
{
    /// <summary>Largest payload accepted; the largest the spec defines (a config access) is 268 bytes.</summary>
    public const int MaxPayload = 4096;

    private readonly byte[] _buffer = new byte[VhostUserHeader.Size + MaxPayload];
    private readonly byte[] _sendBuffer = new byte[VhostUserHeader.Size + MaxPayload];
    private readonly SafeFileHandle?[] _fds = new SafeFileHandle?[UnixSocket.MaxFds];

    private UnixSocket Socket { get; } = socket;

    /// <summary>Header of the message last received.</summary>
    public VhostUserHeader Header { get; private set; }

    /// <summary>Payload of the message last received.</summary>
    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(VhostUserHeader.Size, (int)Header.PayloadSize);

    /// <summary>Descriptors that came with the message last received.</summary>
    public int FdCount { get; private set; }

    /// <summary>
    /// Reads one message. False when the peer closed the connection between messages; a
    /// message cut short, a payload above <see cref="MaxPayload"/> or descriptors in the middle
    /// of a message throw <see cref="VhostUserProtocolException"/>.
    /// </summary>
    public bool Receive()
    {
        CloseFds();
        var headerBytes = _buffer.AsSpan(0, VhostUserHeader.Size);
        var got = Socket.Receive(headerBytes, _fds, out var fdCount);
        FdCount = fdCount;
        if (got == 0)
        {
            return false;
        }

        ReceiveRest(headerBytes[got..]);
        var header = MemoryMarshal.Read<VhostUserHeader>(headerBytes);
        if (header.PayloadSize > MaxPayload)
        {
            throw new VhostUserProtocolException($"payload of {header.PayloadSize} bytes announced, at most {MaxPayload} accepted");
        }

        ReceiveRest(_buffer.AsSpan(VhostUserHeader.Size, (int)header.PayloadSize));
        Header = header;
        return true;
    }

    private void ReceiveRest(Span<byte> rest)
    {
        Span<SafeFileHandle?> none = [];
        while (!rest.IsEmpty)
        {
            var n = Socket.Receive(rest, none, out _);
            if (n == 0)
            {
                throw new VhostUserProtocolException("connection closed in the middle of a message");
            }

            rest = rest[n..];
        }
    }

    /// <summary>Takes ownership of descriptor <paramref name="index"/> of the last message.</summary>
    public SafeFileHandle TakeFd(int index)
    {
        if (index >= FdCount || _fds[index] is null)
        {
            throw new VhostUserProtocolException($"descriptor {index} missing");
        }

        var fd = _fds[index]!;
        _fds[index] = null;
        return fd;
    }

    /// <summary>Sends one message: header fields, then <paramref name="payload"/>, with <paramref name="fds"/>.</summary>
    public void Send(uint request, VhostUserHeaderFlags flags, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default)
    {
        var message = _sendBuffer.AsSpan(0, VhostUserHeader.Size + payload.Length);
        var header = new VhostUserHeader { Request = request, Flags = flags, PayloadSize = (uint)payload.Length };
        MemoryMarshal.Write(message, in header);
        payload.CopyTo(message[VhostUserHeader.Size..]);
        Socket.Send(message, fds);
    }

    /// <summary>Closes the descriptors of the last message that nobody took.</summary>
    public void CloseFds()
    {
        for (var i = 0; i < _fds.Length; i++)
        {
            _fds[i]?.Dispose();
            _fds[i] = null;
        }

        FdCount = 0;
    }

    /// <summary>Ends the connection from another thread: the session's receive returns as if the front end had gone.</summary>
    public void Shutdown() => Socket.Shutdown();

    /// <summary>True once the peer has closed the connection; waits up to <paramref name="timeoutMs"/> for it.</summary>
    public bool WaitForHangup(int timeoutMs) => Socket.WaitForHangup(timeoutMs);

    public void Dispose()
    {
        CloseFds();
        Socket.Dispose();
    }
}
