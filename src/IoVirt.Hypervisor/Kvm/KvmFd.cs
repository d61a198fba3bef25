using System.ComponentModel;
using IoVirt.Interop;
using static Tmds.Linux.LibC;

namespace IoVirt.Hypervisor.Kvm;

/// <summary>An owned KVM file descriptor (the system, a VM or a vCPU) and its ioctls.</summary>
internal sealed unsafe class KvmFd : IDisposable
{
    private int _fd;

    public KvmFd(int fd) => _fd = fd;

    public int Fd => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(KvmFd));

    /// <summary>An ioctl whose argument is a pointer; throws with the request's name on failure.</summary>
    public int Call(uint request, void* argument, string name)
    {
        var result = ioctl(Fd, unchecked((int)request), argument);
        return result >= 0 ? result : throw Errno.Exception(name);
    }

    /// <summary>An ioctl whose argument is an integer passed by value.</summary>
    public int Call(uint request, ulong argument, string name) => Call(request, (void*)(nuint)argument, name);

    /// <summary>As <see cref="Call(uint, void*, string)"/>, returning -errno instead of throwing (for KVM_RUN).</summary>
    public int TryCall(uint request, void* argument)
    {
        var result = ioctl(Fd, unchecked((int)request), argument);
        return result >= 0 ? result : -errno;
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = close(fd);
        }
    }

    /// <summary>Opens /dev/kvm, saying plainly when the host has none or it cannot be used.</summary>
    public static KvmFd OpenSystem()
    {
        int fd;
        fixed (byte* path = "/dev/kvm\0"u8)
        {
            fd = open(path, O_RDWR | O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            var error = errno;
            throw new HypervisorUnavailableException(
                $"/dev/kvm cannot be opened ({new Win32Exception(error).Message}): this host offers no KVM to this process");
        }

        return new KvmFd(fd);
    }
}
