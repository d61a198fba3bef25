using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Interop;

/// <summary>
/// An open disk image: a regular file, a block device or a memfd, with its size and block sizes,
/// and the positioned I/O calls a block back end makes on it. I/O methods return the byte count
/// or a negated errno, as io_uring completions do, so both engines report results alike.
/// </summary>
public sealed unsafe partial class BlockFile : IDisposable
{
    /// <summary>pwritev2 flag: the write is durable when the call returns, as if followed by fdatasync.</summary>
    public const int RwfDsync = 0x2;

    /// <summary>fallocate mode: deallocate the range (reads return zeros); with <see cref="FallocKeepSize"/>.</summary>
    public const int FallocPunchHole = 0x02;

    /// <summary>fallocate mode: zero the range and keep it allocated.</summary>
    public const int FallocZeroRange = 0x10;

    /// <summary>fallocate mode: never change the file size.</summary>
    public const int FallocKeepSize = 0x01;

    internal const int LockShared = 1;
    internal const int LockExclusive = 2;
    internal const int LockNonBlocking = 4;
    private const uint BlkGetSize64 = 0x80081272;
    private const uint BlkSectorSizeGet = 0x1268;
    private const uint BlkPhysicalSectorSizeGet = 0x127b;
    private const long TmpfsMagic = 0x01021994;

    private bool _disposed;

    private BlockFile(int fd, string name)
    {
        Fd = fd;
        Name = name;
    }

    public int Fd { get; }

    /// <summary>The path, or a description for a memfd.</summary>
    public string Name { get; }

    public ulong Size { get; private set; }

    public bool IsBlockDevice { get; private set; }

    /// <summary>Smallest unit the file can be read or written in with O_DIRECT.</summary>
    public uint LogicalBlockSize { get; private set; } = 512;

    /// <summary>Unit the storage writes internally (4096 on most modern disks).</summary>
    public uint PhysicalBlockSize { get; private set; } = 4096;

    /// <summary>
    /// The file lives in RAM (tmpfs or a memfd): I/O is a memory copy that never waits for a
    /// device, and FALLOC_FL_ZERO_RANGE is refused there.
    /// </summary>
    public bool IsMemoryBacked { get; private set; }

    /// <summary>
    /// True for a RAM disk made by <see cref="CreateMemory"/>: memory with no file system size
    /// limit, unlike a file on a tmpfs mount, which can run out of room.
    /// </summary>
    public bool IsAnonymousMemory { get; private set; }

    /// <summary>Bytes the file has allocated (st_blocks), which for a sparse file is less than its size.</summary>
    public ulong AllocatedBytes
    {
        get
        {
            stat info;
            return fstat(Fd, &info) == 0 ? (ulong)(long)info.st_blocks * 512 : 0;
        }
    }

    /// <summary>
    /// The first extent of data at or after <paramref name="from"/> (SEEK_DATA, then SEEK_HOLE):
    /// false when there is none, or the file system cannot say (then the whole rest is data).
    /// </summary>
    public bool TryNextData(ulong from, out ulong start, out ulong end)
    {
        start = end = 0;
        var data = lseek(Fd, (off_t)(long)from, SeekData);
        if (data < 0)
        {
            // ENXIO: no data past from. Anything else: no answer, so treat the rest as data.
            if (errno == ENXIO || from >= Size)
            {
                return false;
            }

            (start, end) = (from, Size);
            return true;
        }

        var hole = lseek(Fd, data, SeekHole);
        start = (ulong)(long)data;
        end = hole < 0 ? Size : Math.Min((ulong)(long)hole, Size);
        return start < end;
    }

    private const int SeekData = 3, SeekHole = 4;

    /// <summary>Opens an image read-write or read-only, optionally with O_DIRECT.</summary>
    public static BlockFile Open(string path, bool readOnly, bool direct)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var flags = (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
        var utf8 = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* p = utf8)
        {
            fd = open(p, flags, 0);
        }

        if (fd < 0)
        {
            throw new IOException($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        return Describe(new BlockFile(fd, path));
    }

    /// <summary>
    /// A zero-filled memfd of <paramref name="size"/> bytes (pages are allocated as they are
    /// written), sealed against resizing so a mapping of it can never run past its end.
    /// </summary>
    public static BlockFile CreateMemory(string name, ulong size)
    {
        var fd = Mapping.CreateMemfd(name, size);
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0)
        {
            var error = Errno.Exception("fcntl(F_ADD_SEALS)");
            _ = close(fd);
            throw error;
        }

        var file = Describe(new BlockFile(fd, $"memory:{name}"));
        file.IsAnonymousMemory = true;
        return file;
    }

    private static BlockFile Describe(BlockFile file)
    {
        try
        {
            stat info;
            if (fstat(file.Fd, &info) != 0)
            {
                throw Errno.Exception("fstat");
            }

            var type = info.st_mode & S_IFMT;
            if (type == S_IFBLK)
            {
                file.IsBlockDevice = true;
                ulong size;
                uint logical, physical;
                if (ioctl(file.Fd, unchecked((int)BlkGetSize64), &size) != 0
                    || ioctl(file.Fd, (int)BlkSectorSizeGet, &logical) != 0
                    || ioctl(file.Fd, (int)BlkPhysicalSectorSizeGet, &physical) != 0)
                {
                    throw Errno.Exception($"block device ioctl on {file.Name}");
                }

                file.Size = size;
                file.LogicalBlockSize = logical;
                file.PhysicalBlockSize = physical;
            }
            else if (type == S_IFREG)
            {
                file.Size = (ulong)(long)info.st_size;
                file.IsMemoryBacked = FileSystemType(file.Fd) == TmpfsMagic;
            }
            else
            {
                throw new IOException($"{file.Name} is neither a regular file nor a block device");
            }

            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes an advisory lock, so two back ends never serve the same image unawares: an exclusive
    /// one, or with <paramref name="shared"/> a shared one, which other shared holders may hold too
    /// (a live migration's source and destination) but an exclusive holder keeps out, and the
    /// other way round. Throws when a conflicting holder keeps it past <paramref name="patience"/>.
    /// The wait covers a predecessor that was just killed: its io_uring instance closes the image
    /// some moments after the process exits.
    /// </summary>
    public void Lock(TimeSpan patience, bool shared = false)
    {
        var deadline = Environment.TickCount64 + (long)patience.TotalMilliseconds;
        while (Flock(Fd, (shared ? LockShared : LockExclusive) | LockNonBlocking) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            if (error != EWOULDBLOCK)
            {
                throw new IOException($"cannot lock {Name}: {Marshal.GetPInvokeErrorMessage(error)}");
            }

            if (Environment.TickCount64 >= deadline)
            {
                throw new IOException(shared
                    ? $"{Name} is in use by another process that does not share it"
                    : $"{Name} is in use by another process (it holds a lock on it)");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>Reads into <paramref name="vectors"/> from <paramref name="offset"/>; bytes read or -errno.</summary>
    public int ReadAt(long offset, ReadOnlySpan<iovec> vectors)
    {
        fixed (iovec* v = vectors)
        {
            return Result(Preadv2(Fd, v, vectors.Length, offset, 0));
        }
    }

    /// <summary>Writes <paramref name="vectors"/> at <paramref name="offset"/>, durably when <paramref name="dsync"/>; bytes written or -errno.</summary>
    public int WriteAt(long offset, ReadOnlySpan<iovec> vectors, bool dsync)
    {
        fixed (iovec* v = vectors)
        {
            return Result(Pwritev2(Fd, v, vectors.Length, offset, dsync ? RwfDsync : 0));
        }
    }

    /// <summary>fdatasync: 0 or -errno.</summary>
    public int DataSync() => fdatasync(Fd) == 0 ? 0 : -errno;

    /// <summary>fallocate with <paramref name="mode"/>: 0 or -errno.</summary>
    public int Allocate(int mode, long offset, long length) => fallocate(Fd, mode, offset, length) == 0 ? 0 : -errno;

    private static int Result(nint bytes) => bytes >= 0 ? (int)bytes : -Marshal.GetLastPInvokeError();

    private static long FileSystemType(int fd)
    {
        // struct statfs starts with f_type (a long on 64-bit Linux); the rest is not needed.
        var buffer = stackalloc long[16];
        return Fstatfs(fd, buffer) == 0 ? buffer[0] : 0;
    }

    [LibraryImport("libc", EntryPoint = "preadv2", SetLastError = true)]
    private static partial nint Preadv2(int fd, iovec* iov, int count, long offset, int flags);

    [LibraryImport("libc", EntryPoint = "pwritev2", SetLastError = true)]
    private static partial nint Pwritev2(int fd, iovec* iov, int count, long offset, int flags);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    internal static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int Fstatfs(int fd, long* buffer);

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _ = close(Fd);
        }
    }
}
