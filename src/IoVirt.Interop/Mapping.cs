using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Interop;

/// <summary>mmap/munmap and memfd_create for guest memory regions.</summary>
public static unsafe class Mapping
{
    public static readonly ulong PageSize = (ulong)Environment.SystemPageSize;

    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> from <paramref name="offset"/> shared, read-write or read-only.</summary>
    public static byte* MapShared(int fd, ulong offset, ulong length, bool writable)
    {
        var prot = PROT_READ | (writable ? PROT_WRITE : 0);
        var flags = fd < 0 ? MAP_SHARED | MAP_ANONYMOUS : MAP_SHARED;
        var p = mmap(null, (size_t)length, prot, flags, fd, (off_t)(long)offset);
        return p == MAP_FAILED ? throw Errno.Exception("mmap") : (byte*)p;
    }

    /// <summary>
    /// Asks for transparent huge pages under [<paramref name="address"/>, +<paramref name="length"/>),
    /// best effort: the host's policy decides (for memfd, /sys/kernel/mm/transparent_hugepage/shmem_enabled
    /// must say advise, within_size or always), and a refusal changes nothing but speed.
    /// </summary>
    public static void AdviseHugePages(byte* address, ulong length) => _ = madvise(address, (size_t)length, MADV_HUGEPAGE);

    /// <summary>
    /// Faults in every page of [<paramref name="address"/>, +<paramref name="length"/>) as a read
    /// would (MADV_POPULATE_READ, Linux 5.14), so later accesses take no page fault. False when
    /// the kernel cannot (too old, or a page that cannot be read); nothing is changed then but speed.
    /// </summary>
    public static bool PopulateRead(byte* address, ulong length) => madvise(address, (size_t)length, MadvPopulateRead) == 0;

    private const int MadvPopulateRead = 22;

    public static void Unmap(byte* address, ulong length)
    {
        // munmap only fails for arguments we produced ourselves; nothing useful can be done then.
        _ = munmap(address, (size_t)length);
    }

    /// <summary>
    /// Checks that [<paramref name="offset"/>, +<paramref name="length"/>) lies inside the regular
    /// file <paramref name="fd"/>: a mapping past its end would map, then kill the process with
    /// SIGBUS on first access. Where the file allows it (a memfd created with sealing), it is also
    /// sealed against shrinking, so the peer cannot cut the mapping short later.
    /// </summary>
    public static void CheckFileRange(int fd, ulong offset, ulong length)
    {
        stat info;
        if (fstat(fd, &info) != 0)
        {
            throw Errno.Exception("fstat");
        }

        if ((info.st_mode & S_IFMT) != S_IFREG)
        {
            throw new ArgumentException("Guest memory must be a regular file or memfd.");
        }

        var size = (ulong)(long)info.st_size;
        if (offset > size || length > size - offset)
        {
            throw new ArgumentException($"0x{length:x} bytes at offset 0x{offset:x} run past the end of a 0x{size:x}-byte file.");
        }

        _ = fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
    }

    public static int CreateMemfd(string name, ulong size)
    {
        var utf8 = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        int fd;
        fixed (byte* pName = utf8)
        {
            fd = memfd_create(pName, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        }

        if (fd < 0)
        {
            throw Errno.Exception("memfd_create");
        }

        if (ftruncate(fd, (off_t)(long)size) != 0)
        {
            var error = Errno.Exception("ftruncate");
            _ = close(fd);
            throw error;
        }

        return fd;
    }
}
