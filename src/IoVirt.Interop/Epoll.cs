using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Interop;

/// <summary>An epoll instance: a worker thread waits here on its kick eventfds, each tagged with a 64-bit token.</summary>
public sealed unsafe class Epoll : IDisposable
{
    private readonly int _fd;
    private bool _disposed;

    public Epoll()
    {
        _fd = epoll_create1(EPOLL_CLOEXEC);
        if (_fd < 0)
        {
            throw Errno.Exception("epoll_create1");
        }
    }

    /// <summary>
    /// Watches <paramref name="fd"/> for readability; its events carry <paramref name="token"/>.
    /// Edge-triggered reports only new readiness: for sources the waiter may leave unread (a TAP
    /// with no room to put its packets), which would otherwise wake it in a loop.
    /// </summary>
    public void Add(int fd, ulong token, bool edgeTriggered = false)
    {
        var ev = new epoll_event { events = EPOLLIN | (edgeTriggered ? EPOLLET : 0) };
        ev.data.u64 = token;
        if (epoll_ctl(_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
        {
            throw Errno.Exception("epoll_ctl(ADD)");
        }
    }

    public void Remove(int fd) => _ = epoll_ctl(_fd, EPOLL_CTL_DEL, fd, null);

    /// <summary>Waits up to <paramref name="timeoutMs"/> (-1: forever) and writes the ready tokens; returns how many.</summary>
    public int Wait(Span<ulong> tokens, int timeoutMs)
    {
        var events = stackalloc epoll_event[Math.Min(tokens.Length, 64)];
        var n = epoll_wait(_fd, events, Math.Min(tokens.Length, 64), timeoutMs);
        if (n < 0)
        {
            return errno == EINTR ? 0 : throw Errno.Exception("epoll_wait");
        }

        for (var i = 0; i < n; i++)
        {
            tokens[i] = events[i].data.u64;
        }

        return n;
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _ = close(_fd);
            _disposed = true;
        }
    }
}
