using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Interop;

/// <summary>
/// A stream Unix domain socket that carries file descriptors (SCM_RIGHTS) with its bytes, as
/// vhost-user needs. Calls block; each connection is served by one thread.
/// </summary>
public sealed unsafe partial class UnixSocket : IDisposable
{
    /// <summary>Most descriptors one message may carry (vhost-user's memory table sends eight).</summary>
    public const int MaxFds = 8;

    /// <summary>sun_path's size: a path takes at most one byte less.</summary>
    internal const int MaxPathBytes = 108;

    private readonly SafeFileHandle _handle;

    private UnixSocket(int fd) => _handle = new SafeFileHandle(fd, ownsHandle: true);

    public int Fd => (int)_handle.DangerousGetHandle();

    /// <summary>
    /// Binds and listens on the path <paramref name="claim"/> holds (cleared for it), and tells the
    /// claim what it bound. The socket is bound beside the path and renamed into place once it
    /// listens, so a socket file at the path means a listener is there: scripts may wait for it.
    /// </summary>
    public static UnixSocket Listen(SocketPathClaim claim, int backlog = 4)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var socket = Create();
        try
        {
            var bindPath = claim.BindPath;
            var address = Address(bindPath);
            if (bind(socket.Fd, (sockaddr*)&address, (uint)sizeof(sockaddr_un)) != 0)
            {
                throw Errno.Exception($"bind({bindPath})");
            }

            if (listen(socket.Fd, backlog) != 0)
            {
                Unlink(bindPath);
                throw Errno.Exception("listen");
            }

            if (bindPath != claim.Path && Rename(bindPath, claim.Path) != 0)
            {
                var error = Errno.Exception($"rename({bindPath}, {claim.Path})", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
                Unlink(bindPath);
                throw error;
            }

            claim.Bound();
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static UnixSocket Connect(string path)
    {
        var socket = Create();
        var address = Address(path);
        if (connect(socket.Fd, (sockaddr*)&address, (uint)sizeof(sockaddr_un)) != 0)
        {
            var error = Errno.Exception($"connect({path})");
            socket.Dispose();
            throw error;
        }

        return socket;
    }

    /// <summary>Takes over <paramref name="connected"/>, a connected Unix stream socket someone passed (the vhost-user-gpu display socket).</summary>
    public static UnixSocket Adopt(SafeFileHandle connected)
    {
        ArgumentNullException.ThrowIfNull(connected);
        var socket = new UnixSocket((int)connected.DangerousGetHandle());
        connected.SetHandleAsInvalid();
        return socket;
    }

    /// <summary>A connected pair (the vhost-user back-end request channel, and tests).</summary>
    public static (UnixSocket, UnixSocket) Pair()
    {
        var fds = stackalloc int[2];
        return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0
            ? throw Errno.Exception("socketpair")
            : (new UnixSocket(fds[0]), new UnixSocket(fds[1]));
    }

    /// <summary>
    /// Takes over descriptor <paramref name="fd"/>, a listening stream socket bound to a path (as a
    /// service manager passes one), and returns that path; <see cref="ArgumentException"/> when
    /// the descriptor is anything else. The descriptor is closed on exec from now on.
    /// </summary>
    public static UnixSocket AdoptListening(int fd, out string path)
    {
        if (Passed(fd, out var listeningPath) != PassedSocket.Listening)
        {
            throw new ArgumentException($"descriptor {fd} is not a listening Unix stream socket bound to a path");
        }

        path = listeningPath!;
        return TakeOver(fd);
    }

    /// <summary>
    /// Takes over descriptor <paramref name="fd"/>, a connected Unix stream socket (one end of a
    /// socketpair a management layer made, or a connection it accepted); <see cref="ArgumentException"/>
    /// when the descriptor is anything else. The descriptor is closed on exec from now on.
    /// </summary>
    public static UnixSocket AdoptConnected(int fd) =>
        Passed(fd, out _) == PassedSocket.Connected
            ? TakeOver(fd)
            : throw new ArgumentException($"descriptor {fd} is not a connected Unix stream socket");

    /// <summary>What descriptor <paramref name="fd"/> is, as a socket someone passed: a listening Unix stream socket (and its path), a connected one, or neither.</summary>
    public static PassedSocket Passed(int fd, out string? listeningPath)
    {
        listeningPath = null;
        int type = 0, listening = 0;
        socklen_t size = sizeof(int);
        var address = default(sockaddr_un);
        socklen_t addressSize = (uint)sizeof(sockaddr_un);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 || type != SOCK_STREAM
            || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0
            || getsockname(fd, (sockaddr*)&address, &addressSize) != 0 || address.sun_family != AF_UNIX)
        {
            return PassedSocket.Other;
        }

        if (listening == 0)
        {
            // A peer of a socketpair or of an accept() has no name of its own to check.
            return PassedSocket.Connected;
        }

        if (address.sun_path[0] == 0)
        {
            return PassedSocket.Other;
        }

        var length = new ReadOnlySpan<byte>(address.sun_path, MaxPathBytes).IndexOf((byte)0);
        listeningPath = Encoding.UTF8.GetString(address.sun_path, length < 0 ? MaxPathBytes : length);
        return PassedSocket.Listening;
    }

    private static UnixSocket TakeOver(int fd) =>
        fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ? throw Errno.Exception($"fcntl(FD_CLOEXEC) on descriptor {fd}") : new UnixSocket(fd);

    /// <summary>
    /// Waits for a connection; null once <paramref name="stop"/> is signalled. (Not shutdown() on
    /// the listener: a service manager may share it, and must keep it listening.)
    /// </summary>
    public UnixSocket? Accept(EventFd stop)
    {
        ArgumentNullException.ThrowIfNull(stop);
        var entries = stackalloc Tmds.Linux.pollfd[2];
        while (true)
        {
            entries[0] = new Tmds.Linux.pollfd { fd = Fd, events = POLLIN };
            entries[1] = new Tmds.Linux.pollfd { fd = stop.Fd, events = POLLIN };
            if (poll(entries, 2, -1) < 0)
            {
                if (errno == EINTR)
                {
                    continue;
                }

                return null;
            }

            if (entries[1].revents != 0)
            {
                return null;
            }

            var fd = accept4(Fd, null, null, SOCK_CLOEXEC);
            if (fd >= 0)
            {
                return new UnixSocket(fd);
            }

            // A connection reset before it was taken is the next one's business.
            if (errno != EINTR && errno != ECONNABORTED)
            {
                return null;
            }
        }
    }

    /// <summary>Sends all of <paramref name="data"/>, with <paramref name="fds"/> attached to its first byte; a broken connection throws <see cref="IOException"/>.</summary>
    public void Send(ReadOnlySpan<byte> data, ReadOnlySpan<int> fds = default)
    {
        if (fds.Length > MaxFds)
        {
            throw new ArgumentException($"At most {MaxFds} descriptors per message.", nameof(fds));
        }

        var control = stackalloc byte[CMSG_SPACE(sizeof(int) * MaxFds)];
        fixed (byte* p = data)
        {
            var sent = 0;
            while (sent < data.Length)
            {
                var iov = new iovec { iov_base = p + sent, iov_len = (size_t)(ulong)(data.Length - sent) };
                var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1 };
                if (sent == 0 && !fds.IsEmpty)
                {
                    msg.msg_control = control;
                    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.Length);
                    var header = CMSG_FIRSTHDR(&msg);
                    header->cmsg_level = SOL_SOCKET;
                    header->cmsg_type = SCM_RIGHTS;
                    header->cmsg_len = ControlLength(fds.Length);
                    fds.CopyTo(new Span<int>(CMSG_DATA(header), fds.Length));
                }

                sent += (int)SendMessage(&msg);
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="head"/> and then <paramref name="body"/> as one run of bytes, gathered
    /// by the kernel (no copy of the body here: a frame goes from where it lies); a broken
    /// connection throws <see cref="IOException"/>.
    /// </summary>
    public void Send(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        fixed (byte* h = head)
        fixed (byte* b = body)
        {
            var total = (long)head.Length + body.Length;
            var sent = 0L;
            var iov = stackalloc iovec[2];
            while (sent < total)
            {
                var count = 0;
                if (sent < head.Length)
                {
                    iov[count++] = new iovec { iov_base = h + sent, iov_len = (size_t)(ulong)(head.Length - sent) };
                }

                var bodySent = Math.Max(0, sent - head.Length);
                if (bodySent < body.Length)
                {
                    iov[count++] = new iovec { iov_base = b + bodySent, iov_len = (size_t)(ulong)(body.Length - bodySent) };
                }

                var msg = new msghdr { msg_iov = iov, msg_iovlen = count };
                sent += SendMessage(&msg);
            }
        }
    }

    /// <summary>One sendmsg, retried when a signal interrupts it; the bytes it took (maybe fewer than offered).</summary>
    private long SendMessage(msghdr* msg)
    {
        while (true)
        {
            var n = (long)sendmsg(Fd, msg, MSG_NOSIGNAL);
            if (n >= 0)
            {
                return n;
            }

            if (errno != EINTR)
            {
                throw new IOException("sendmsg on a Unix socket failed (the peer may have closed it)", Errno.Exception("sendmsg"));
            }
        }
    }

    /// <summary>
    /// Receives up to <paramref name="buffer"/>.Length bytes and any descriptors sent with them
    /// (each wrapped in a handle the caller owns). Returns the byte count; 0 means the peer closed.
    /// Descriptors beyond <paramref name="fds"/> or a truncated control message are closed and
    /// reported as an <see cref="IOException"/>.
    /// </summary>
    public int Receive(Span<byte> buffer, Span<SafeFileHandle?> fds, out int fdCount)
    {
        fdCount = 0;
        var control = stackalloc byte[CMSG_SPACE(sizeof(int) * MaxFds)];
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var iov = new iovec { iov_base = p, iov_len = (size_t)(ulong)buffer.Length };
                var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = CMSG_SPACE(sizeof(int) * MaxFds) };
                var n = (long)recvmsg(Fd, &msg, MSG_CMSG_CLOEXEC);
                if (n < 0)
                {
                    if (errno == EINTR)
                    {
                        continue;
                    }

                    throw new IOException("recvmsg on a Unix socket failed", Errno.Exception("recvmsg"));
                }

                var overflow = (msg.msg_flags & MSG_CTRUNC) != 0;
                for (var h = CMSG_FIRSTHDR(&msg); h != null; h = CMSG_NXTHDR(&msg, h))
                {
                    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
                    {
                        continue;
                    }

                    var count = ((int)(uint)h->cmsg_len - ControlLength(0)) / sizeof(int);
                    var received = (int*)CMSG_DATA(h);
                    for (var i = 0; i < count; i++)
                    {
                        var handle = new SafeFileHandle(received[i], ownsHandle: true);
                        if (fdCount < fds.Length)
                        {
                            fds[fdCount++] = handle;
                        }
                        else
                        {
                            handle.Dispose();
                            overflow = true;
                        }
                    }
                }

                if (overflow)
                {
                    for (var i = 0; i < fdCount; i++)
                    {
                        fds[i]!.Dispose();
                        fds[i] = null;
                    }

                    fdCount = 0;
                    throw new IOException($"A message carried more than {fds.Length} file descriptors.");
                }

                return (int)n;
            }
        }
    }

    /// <summary>
    /// Wakes a thread blocked in <see cref="Receive"/> on this socket. A
    /// socket already closed is left alone: its descriptor number may belong to another socket by now.
    /// </summary>
    public void Shutdown()
    {
        var referenced = false;
        try
        {
            _handle.DangerousAddRef(ref referenced);
            _ = shutdown(Fd, SHUT_RDWR);
        }
        catch (ObjectDisposedException)
        {
            // Closed: nothing is blocked on it any more.
        }
        finally
        {
            if (referenced)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for the peer to close its end (or the socket to
    /// fail), without reading anything; true when it has.
    /// </summary>
    public bool WaitForHangup(int timeoutMs)
    {
        try
        {
            var events = (ushort)PollAlone(POLLRDHUP, TimeSpan.FromMilliseconds(timeoutMs), out var ready, out _);
            return ready > 0 && (events & ((ushort)POLLRDHUP | (ushort)POLLHUP | (ushort)POLLERR | (ushort)POLLNVAL)) != 0;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for something to read (or the peer's close, or an
    /// error, which a read then reports); false when the time ran out first.
    /// </summary>
    public bool WaitReadable(int timeoutMs) => WaitReadable(TimeSpan.FromMilliseconds(timeoutMs));

    /// <summary>
    /// <see cref="WaitReadable(int)"/> to the microsecond (ppoll), for waits shorter than a
    /// millisecond; a negative limit (<see cref="Timeout.InfiniteTimeSpan"/>) waits for as long as it takes.
    /// </summary>
    public bool WaitReadable(TimeSpan timeout)
    {
        int ready, error;
        do
        {
            // A signal may cut the wait short (EINTR): wait again (the limit starts over; it is a safety net).
            PollAlone(POLLIN, timeout, out ready, out error);
        }
        while (ready < 0 && error == EINTR);

        return ready != 0; // another error lets the read that follows report it
    }

    /// <summary>
    /// ppoll() on this socket alone for <paramref name="events"/> (a negative <paramref name="timeout"/>
    /// without limit, as poll's), holding the handle so it cannot be closed under the call;
    /// returns the events seen, with ppoll's result in
    /// <paramref name="ready"/> and, when that is negative, errno in <paramref name="error"/>.
    /// </summary>
    private short PollAlone(short events, TimeSpan timeout, out int ready, out int error)
    {
        var referenced = false;
        try
        {
            _handle.DangerousAddRef(ref referenced);
            var entry = new Tmds.Linux.pollfd { fd = Fd, events = events };
            var limit = new timespec { tv_sec = timeout.Ticks / TimeSpan.TicksPerSecond, tv_nsec = (long_t)(timeout.Ticks % TimeSpan.TicksPerSecond * 100) };
            ready = ppoll(&entry, 1, timeout < TimeSpan.Zero ? null : &limit, null);
            error = ready < 0 ? errno : 0;
            return entry.revents;
        }
        finally
        {
            if (referenced)
            {
                _handle.DangerousRelease();
            }
        }
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>
    /// cmsg_len for <paramref name="fds"/> descriptors: the header plus the descriptors, unpadded
    /// (Tmds.LibC's CMSG_LEN pads, which would make the kernel pass one descriptor too many).
    /// </summary>
    private static int ControlLength(int fds) => sizeof(cmsghdr) + (fds * sizeof(int));

    private static UnixSocket Create()
    {
        var fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd < 0 ? throw Errno.Exception("socket") : new UnixSocket(fd);
    }

    private static sockaddr_un Address(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        var address = new sockaddr_un { sun_family = AF_UNIX };
        if (bytes.Length >= MaxPathBytes)
        {
            throw new ArgumentException($"Socket path longer than {MaxPathBytes - 1} bytes: {path}", nameof(path));
        }

        bytes.CopyTo(new Span<byte>(address.sun_path, MaxPathBytes));
        return address;
    }

    private static void Unlink(string path)
    {
        fixed (byte* p = Encoding.UTF8.GetBytes(path + "\0"))
        {
            _ = unlink(p);
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static partial int RenameFile(byte* from, byte* to);

    private static int Rename(string from, string to)
    {
        fixed (byte* f = Encoding.UTF8.GetBytes(from + "\0"))
        fixed (byte* t = Encoding.UTF8.GetBytes(to + "\0"))
        {
            return RenameFile(f, t);
        }
    }
}
