using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Interop;

/// <summary>
/// One listener's hold on a Unix socket path. It takes an exclusive lock on PATH.lock (holding
/// the owner's pid), so a second daemon on the same path is refused and told who has it; it
/// refuses a path where something other than a socket is, or where a listener that holds no lock
/// answers; it removes a stale socket nobody listens on. Once the socket is bound it remembers
/// which file that is, and on release removes the socket only if the path still names it (a
/// later daemon's socket, or a file put there since, is left alone), then the lock file.
/// </summary>
public sealed unsafe class SocketPathClaim : IDisposable
{
    private const int Attempts = 10;

    private readonly int _lockFd;
    private readonly string _fullPath;
    private (ulong Device, ulong Inode)? _bound;
    private bool _released;

    private SocketPathClaim(string path, int lockFd)
    {
        Path = path;

        // Released by full path: a sandboxed daemon's working directory is no longer where it started.
        _fullPath = System.IO.Path.GetFullPath(path);
        _lockFd = lockFd;
    }

    public string Path { get; }

    public string LockPath => LockPathFor(Path);

    /// <summary>
    /// Where to bind before the socket listens and is renamed to <see cref="Path"/> (so a socket at
    /// the path always has a listener): PATH.new, cleared, or the path itself when PATH.new is too
    /// long for a socket address or holds something that is not a socket.
    /// </summary>
    public string BindPath { get; private set; } = string.Empty;

    public static string LockPathFor(string path) => path + ".lock";

    /// <summary>Claims <paramref name="path"/>; throws <see cref="SocketPathException"/> when it must not be taken.</summary>
    public static SocketPathClaim Acquire(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var lockFd = LockExclusively(path, LockPathFor(path));
        var claim = new SocketPathClaim(path, lockFd);
        try
        {
            claim.ClearPath();
            claim.BindPath = claim.ClearStaging(path + ".new") ? path + ".new" : path;
            return claim;
        }
        catch
        {
            claim.Dispose();
            throw;
        }
    }

    /// <summary>The socket is now bound at <see cref="Path"/>: that file is the one to remove later.</summary>
    public void Bound()
    {
        _bound = Identity(Path) ?? throw new IOException($"{Path} vanished right after it was bound");
    }

    /// <summary>
    /// Removes the socket if the path still names the one bound, then the lock. Null when the
    /// socket is gone, else why it was left (another file there now, or no permission, as in a
    /// sandbox that cannot reach the path: the next daemon takes a stale socket over).
    /// </summary>
    public string? Release()
    {
        if (_released)
        {
            return null;
        }

        _released = true;
        string? left = null;
        if (_bound is { } bound)
        {
            var now = Identity(_fullPath);
            left = now is null && errno != ENOENT ? $"cannot see it any more ({Marshal.GetPInvokeErrorMessage(errno)})"
                : now is { } identity && identity != bound ? "it is no longer the socket this daemon made"
                : now is not null && Unlink(_fullPath) != 0 ? $"cannot remove it ({Marshal.GetPInvokeErrorMessage(errno)})"
                : null;
        }

        // Unlinked while still locked: whoever opened it meanwhile finds it held, or sees the path changed and retries.
        _ = Unlink(LockPathFor(_fullPath));
        _ = close(_lockFd);
        return left;
    }

    public void Dispose() => Release();

    private static int LockExclusively(string path, string lockPath)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            int fd;
            fixed (byte* p = Bytes(lockPath))
            {
                fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0x180 /* 0600 */);
            }

            if (fd < 0)
            {
                throw new IOException($"cannot open the lock file {lockPath}: {Marshal.GetPInvokeErrorMessage(errno)}");
            }

            if (BlockFile.Flock(fd, BlockFile.LockExclusive | BlockFile.LockNonBlocking) != 0)
            {
                var holder = ReadPid(fd);
                _ = close(fd);
                throw new SocketPathException(
                    SocketPathProblem.InUse,
                    $"{path} is being served by {(holder is { } pid ? $"process {pid}" : "another process")} (it holds {lockPath})");
            }

            // The lock is ours only if the path still names the file locked: its last owner may have unlinked it as it left.
            stat locked;
            if (fstat(fd, &locked) == 0 && Identity(lockPath) == (locked.st_dev, locked.st_ino))
            {
                WritePid(fd);
                return fd;
            }

            _ = close(fd);
        }

        throw new SocketPathException(SocketPathProblem.InUse, $"{lockPath} keeps changing; another process is claiming {path}");
    }

    /// <summary>Leaves the path free for bind: nothing there, or a stale socket removed.</summary>
    private void ClearPath()
    {
        stat info;
        int result;
        fixed (byte* p = Bytes(Path))
        {
            result = lstat(p, &info);
        }

        if (result != 0)
        {
            if (errno == ENOENT)
            {
                return;
            }

            throw Errno.Exception($"lstat({Path})");
        }

        if ((info.st_mode & S_IFMT) != S_IFSOCK)
        {
            throw new SocketPathException(SocketPathProblem.NotASocket, $"{Path} exists and is not a socket; refusing to replace it");
        }

        if (Answers(Path))
        {
            throw new SocketPathException(SocketPathProblem.InUse, $"something is listening on {Path} already (a process that holds no {LockPath})");
        }

        if (Unlink(Path) != 0 && errno != ENOENT)
        {
            throw Errno.Exception($"unlink({Path})");
        }
    }

    /// <summary>Whether <paramref name="staging"/> can be bound: short enough, and nothing there but perhaps a stale socket of an earlier start (removed).</summary>
    private bool ClearStaging(string staging)
    {
        if (Encoding.UTF8.GetByteCount(staging) >= UnixSocket.MaxPathBytes)
        {
            return false;
        }

        stat info;
        fixed (byte* p = Bytes(staging))
        {
            if (lstat(p, &info) != 0)
            {
                return errno == ENOENT;
            }
        }

        // Under our lock, a socket there is a stale one of ours; anything else is not ours to touch.
        return (info.st_mode & S_IFMT) == S_IFSOCK && Unlink(staging) == 0;
    }

    /// <summary>True when a listener accepts connections on the socket at <paramref name="path"/>.</summary>
    private static bool Answers(string path)
    {
        try
        {
            UnixSocket.Connect(path).Dispose();
            return true;
        }
        catch (System.ComponentModel.Win32Exception e) when (e.NativeErrorCode == ECONNREFUSED || e.NativeErrorCode == ENOENT)
        {
            return false;
        }
    }

    private static (ulong, ulong)? Identity(string path)
    {
        stat info;
        fixed (byte* p = Bytes(path))
        {
            return lstat(p, &info) == 0 ? (info.st_dev, info.st_ino) : null;
        }
    }

    private static int Unlink(string path)
    {
        fixed (byte* p = Bytes(path))
        {
            return unlink(p);
        }
    }

    private static void WritePid(int fd)
    {
        var text = Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n");
        _ = ftruncate(fd, 0);
        fixed (byte* p = text)
        {
            _ = pwrite(fd, p, text.Length, 0);
        }
    }

    private static int? ReadPid(int fd)
    {
        var buffer = stackalloc byte[32];
        var n = (int)pread(fd, buffer, 32, 0);
        return n > 0 && int.TryParse(new ReadOnlySpan<byte>(buffer, n).Trim("\n "u8), out var pid) ? pid : null;
    }

    private static byte[] Bytes(string path) => Encoding.UTF8.GetBytes(path + "\0");
}
