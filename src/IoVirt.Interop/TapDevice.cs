using System.Text;
using static Tmds.Linux.LibC;

namespace IoVirt.Interop;

/// <summary>
/// One queue of a Linux TAP interface opened with IFF_VNET_HDR: every frame read or written is
/// preceded by a virtio-net header, so checksum and segmentation offloads pass between the guest
/// and the host stack untouched. Non-blocking; reads and writes return bytes or -errno.
/// </summary>
public sealed unsafe class TapDevice : IDisposable
{
    /// <summary>TUNSETOFFLOAD bits: what the kernel may hand us unfinished (the guest finishes it).</summary>
    [Flags]
    public enum Offloads : uint
    {
        None = 0,
        Csum = 0x01,
        Tso4 = 0x02,
        Tso6 = 0x04,
        TsoEcn = 0x08,
    }

    private const int TunSetIff = 0x400454ca;
    private const int TunSetOffload = 0x400454d0;
    private const int TunSetVnetHdrSz = 0x400454d8;
    private const short IffTap = 0x0002;
    private const short IffNoPi = 0x1000;
    private const short IffVnetHdr = 0x4000;
    private const short IffMultiQueue = 0x0100;
    private const int InterfaceNameLength = 16;

    private bool _disposed;

    private TapDevice(int fd, string name)
    {
        Fd = fd;
        Name = name;
    }

    public int Fd { get; }

    /// <summary>
    /// Whether <paramref name="name"/> can name a network interface: 1 to 15 printable ASCII
    /// characters, with no slash, colon or space (the kernel's dev_valid_name, less the dot names).
    /// </summary>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length < InterfaceNameLength && name is not ("." or "..")
        && name.All(c => c is > ' ' and < '\x7f' and not '/' and not ':');

    /// <summary>The interface name.</summary>
    public string Name { get; }

    /// <summary>
    /// Creates TAP interface <paramref name="name"/> in the caller's network namespace, or
    /// attaches to it if it exists, as one queue; <paramref name="multiQueue"/> must be the same
    /// for every queue of one interface. <paramref name="headerSize"/> is 10 or 12.
    /// </summary>
    public static TapDevice Open(string name, bool multiQueue, int headerSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var ascii = Encoding.ASCII.GetBytes(name);
        if (!IsValidName(name))
        {
            throw new ArgumentException($"'{name}' is not an interface name (1 to {InterfaceNameLength - 1} printable ASCII characters, no slash, colon or space)", nameof(name));
        }

        int fd;
        fixed (byte* path = "/dev/net/tun\0"u8)
        {
            fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            throw Errno.Exception("open /dev/net/tun");
        }

        // struct ifreq: the name, then ifr_flags at offset 16, within 40 bytes.
        var request = stackalloc byte[40];
        new Span<byte>(request, 40).Clear();
        ascii.CopyTo(new Span<byte>(request, InterfaceNameLength));
        *(short*)(request + InterfaceNameLength) = (short)(IffTap | IffNoPi | IffVnetHdr | (multiQueue ? IffMultiQueue : 0));
        var size = headerSize;
        if (ioctl(fd, TunSetIff, request) < 0 || ioctl(fd, TunSetVnetHdrSz, &size) < 0)
        {
            var error = errno;
            _ = close(fd);
            throw Errno.Exception($"attach to TAP {name}", error);
        }

        return new TapDevice(fd, name);
    }

    /// <summary>Tells the kernel which unfinished offloads the reader accepts (TUNSETOFFLOAD).</summary>
    public void SetOffloads(Offloads offloads)
    {
        if (ioctl(Fd, TunSetOffload, (void*)(nuint)(uint)offloads) < 0)
        {
            throw Errno.Exception($"TUNSETOFFLOAD on {Name}");
        }
    }

    /// <summary>Reads one header and frame; -EAGAIN when none is queued.</summary>
    public int Read(Span<byte> destination)
    {
        fixed (byte* p = destination)
        {
            var n = read(Fd, p, destination.Length);
            return n >= 0 ? (int)n : -errno;
        }
    }

    /// <summary>Writes one header and frame; -EAGAIN when the interface's queue is full.</summary>
    public int Write(ReadOnlySpan<byte> packet)
    {
        fixed (byte* p = packet)
        {
            var n = write(Fd, p, packet.Length);
            return n >= 0 ? (int)n : -errno;
        }
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _ = close(Fd);
        }
    }
}
