using System.Globalization;
using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace IoVirt.Backends.Blk.Rbd;

/// <summary>
/// A client of a Ceph cluster, connected, with one pool open: what images are opened, created
/// and removed through. Every failure to get there is an <see cref="IOException"/> whose message
/// is one line naming what failed (configuration, cluster, credentials, pool).
/// </summary>
public sealed class RbdConnection : IDisposable
{
    /// <summary>How long connecting may take before an unreachable cluster is reported (librados waits 5 minutes by default).</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    private nint _cluster;
    private nint _pool;

    private RbdConnection(nint cluster, nint pool, string poolName)
    {
        _cluster = cluster;
        _pool = pool;
        PoolName = poolName;
    }

    public string PoolName { get; }

    internal nint Pool => _pool != 0 ? _pool : throw new ObjectDisposedException(nameof(RbdConnection));

    /// <summary>Connects as <paramref name="spec"/> says and opens its pool.</summary>
    public static RbdConnection Open(RbdImageSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var who = $"as client.{spec.User ?? "admin"}";
        Check(RbdNative.Create(out var cluster, spec.User), $"cannot start a Ceph client {who}");
        try
        {
            var read = RbdNative.ConfReadFile(cluster, spec.ConfigFile);
            if (read < 0)
            {
                throw new IOException(spec.ConfigFile is null
                    ? $"{spec}: no Ceph configuration in librados' default places (/etc/ceph/ceph.conf): give conf=FILE"
                    : $"{spec}: cannot read the Ceph configuration {spec.ConfigFile}: {Marshal.GetPInvokeErrorMessage(-read)}");
            }

            // The library's own log lines would go to our stderr beside ours; errors come back as codes.
            Set(cluster, "log_to_stderr", "false");
            Set(cluster, "err_to_stderr", "false");
            Set(cluster, "client_mount_timeout", Seconds(ConnectTimeout));

            // No admin socket: its thread would accept connections, which a confined daemon may not.
            Set(cluster, "admin_socket", string.Empty);

            // No client-side cache: a write librbd completes is on the OSDs, as a guest's durable
            // write must be, and a FLUSH has nothing left to write back.
            Set(cluster, "rbd_cache", "false");
            if (spec.OsdTimeout is { } timeout)
            {
                Set(cluster, "rados_osd_op_timeout", Seconds(timeout));
            }

            var connected = RbdNative.Connect(cluster);
            if (connected < 0)
            {
                throw new IOException(ConnectFailure(spec, -connected));
            }

            var opened = RbdNative.IoctxCreate(cluster, spec.Pool, out var pool);
            if (opened < 0)
            {
                throw new IOException(opened == -ENOENT
                    ? $"{spec}: the Ceph cluster has no pool '{spec.Pool}'"
                    : $"{spec}: cannot open pool '{spec.Pool}' {who}: {Marshal.GetPInvokeErrorMessage(-opened)}");
            }

            return new RbdConnection(cluster, pool, spec.Pool);
        }
        catch
        {
            RbdNative.Shutdown(cluster);
            throw;
        }
    }

    /// <summary>Creates image <paramref name="name"/> of <paramref name="size"/> bytes in the pool (default object size and features).</summary>
    public void CreateImage(string name, ulong size)
    {
        var order = 0;
        var result = RbdNative.CreateImage(Pool, name, size, ref order);
        if (result < 0)
        {
            throw new IOException($"cannot create RBD image {PoolName}/{name} of {size} bytes: {Marshal.GetPInvokeErrorMessage(-result)}");
        }
    }

    /// <summary>Removes image <paramref name="name"/>; false when there was none.</summary>
    public bool RemoveImage(string name)
    {
        var result = RbdNative.RemoveImage(Pool, name);
        return result == -ENOENT ? false
            : result < 0 ? throw new IOException($"cannot remove RBD image {PoolName}/{name}: {Marshal.GetPInvokeErrorMessage(-result)}")
            : true;
    }

    /// <summary>The size of image <paramref name="name"/> in the pool, or null when there is none.</summary>
    public ulong? ImageSize(string name)
    {
        var opened = RbdNative.OpenReadOnly(Pool, name, out var image, null);
        if (opened == -ENOENT)
        {
            return null;
        }

        if (opened < 0)
        {
            throw new IOException($"cannot open RBD image {PoolName}/{name}: {Marshal.GetPInvokeErrorMessage(-opened)}");
        }

        try
        {
            var sized = RbdNative.GetSize(image, out var size);
            return sized < 0 ? throw new IOException($"cannot read the size of RBD image {PoolName}/{name}: {Marshal.GetPInvokeErrorMessage(-sized)}") : size;
        }
        finally
        {
            _ = RbdNative.Close(image);
        }
    }

    /// <summary>The names of the pool's images.</summary>
    public unsafe IReadOnlyList<string> ListImages()
    {
        nuint size = 4096;
        while (true)
        {
            var names = new byte[(int)size];
            int result;
            fixed (byte* buffer = names)
            {
                result = RbdNative.List(Pool, buffer, ref size);
            }

            if (result == -ERANGE)
            {
                continue;
            }

            if (result < 0)
            {
                throw new IOException($"cannot list the images of pool '{PoolName}': {Marshal.GetPInvokeErrorMessage(-result)}");
            }

            return [.. System.Text.Encoding.UTF8.GetString(names, 0, (int)Math.Min(size, (nuint)names.Length)).Split('\0', StringSplitOptions.RemoveEmptyEntries)];
        }
    }

    private static string ConnectFailure(RbdImageSpec spec, int error)
    {
        var user = $"client.{spec.User ?? "admin"}";
        if (error == ETIMEDOUT)
        {
            return $"{spec}: no Ceph monitor answered within {ConnectTimeout.TotalSeconds} s (conf {spec.ConfigFile ?? "default"})";
        }

        if (error == EACCES || error == EPERM)
        {
            return $"{spec}: the Ceph cluster refused {user}: wrong key";
        }

        return error == ENOENT
            ? $"{spec}: no key for {user} in the keyring the configuration names"
            : $"{spec}: cannot connect to the Ceph cluster as {user}: {Marshal.GetPInvokeErrorMessage(error)}";
    }

    private static void Set(nint cluster, string option, string value) =>
        Check(RbdNative.ConfSet(cluster, option, value), $"librados refused {option}={value}");

    private static string Seconds(TimeSpan time) => ((int)Math.Ceiling(time.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw new IOException($"{what}: {Marshal.GetPInvokeErrorMessage(-result)}");
        }
    }

    public void Dispose()
    {
        if (_pool != 0)
        {
            RbdNative.IoctxDestroy(_pool);
            _pool = 0;
        }

        if (_cluster != 0)
        {
            RbdNative.Shutdown(_cluster);
            _cluster = 0;
        }
    }
}
