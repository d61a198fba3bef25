using Microsoft.Win32.SafeHandles;
using static Tmds.Linux.LibC;

namespace IoVirt.Interop;

/// <summary>
/// A Linux eventfd: the kick and call signals of vhost-user. Signalling adds one to the counter;
/// consuming reads and clears it. Non-blocking, so a worker never stalls on it.
/// </summary>
public sealed unsafe class EventFd : IDisposable
{
    private EventFd(SafeFileHandle handle) => Handle = handle;

    public SafeFileHandle Handle { get; }

    public int Fd => (int)Handle.DangerousGetHandle();

    public static EventFd Create()
    {
        var fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        return fd < 0 ? throw Errno.Exception("eventfd") : new EventFd(new SafeFileHandle(fd, ownsHandle: true));
    }

    /// <summary>Takes over a descriptor received from a peer (made non-blocking here).</summary>
    public static EventFd Adopt(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var fd = (int)handle.DangerousGetHandle();
        var flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        {
            throw Errno.Exception("fcntl(O_NONBLOCK) on an eventfd");
        }

        return new EventFd(handle);
    }

    /// <summary>Adds one to the counter, waking a reader. A full counter (EAGAIN) already means "signalled".</summary>
    public void Signal()
    {
        ulong one = 1;
        _ = write(Fd, &one, 8);
    }

    /// <summary>Reads and clears the counter; false when it was zero.</summary>
    public bool TryConsume()
    {
        ulong value;
        return read(Fd, &value, 8) == 8;
    }

    /// <summary>Whether the counter is non-zero now, leaving it as it is.</summary>
    public bool IsSignalled
    {
        get
        {
            var entry = new Tmds.Linux.pollfd { fd = Fd, events = POLLIN };
            return poll(&entry, 1, 0) > 0;
        }
    }

    /// <summary>Waits until the counter is non-zero, then clears it; false after <paramref name="timeoutMs"/> without a signal.</summary>
    public bool Wait(int timeoutMs)
    {
        var entry = new Tmds.Linux.pollfd { fd = Fd, events = POLLIN };
        var ready = poll(&entry, 1, timeoutMs);
        return ready > 0 && TryConsume();
    }

    public void Dispose() => Handle.Dispose();
}
