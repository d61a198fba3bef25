namespace IoVirt.Testing;

/// <summary>
/// A Ceph cluster of one monitor, one manager and one OSD on loopback (tests/ceph/cluster.sh,
/// from Debian's packages), started for a test class and ended with it. Its admin can create
/// and remove RBD images with Ceph's own `rbd` tool, and the OSD can be stopped and started.
/// </summary>
public sealed class CephCluster : IDisposable
{
    private static readonly string Script = Path.Combine(QemuGuest.RepositoryRoot, "tests", "ceph", "cluster.sh");
    private readonly string _directory = System.IO.Directory.CreateTempSubdirectory("iovirt-ceph-").FullName;
    private int _images;

    public CephCluster()
    {
        try
        {
            ConfigFile = Command.Output("bash", Script, "start", _directory).Trim();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The cluster's ceph.conf; it names the admin's keyring.</summary>
    public string ConfigFile { get; }

    public string Directory => _directory;

    /// <summary>Creates an RBD image of <paramref name="bytes"/> in pool rbd, with a name not used before; returns its `rbd:` spec for `iovirt blk --image`.</summary>
    public string CreateImage(long bytes, out string name)
    {
        name = $"disk{Interlocked.Increment(ref _images)}";
        Rbd("create", $"rbd/{name}", "--size", $"{bytes >> 20}M");
        return Spec(name);
    }

    /// <summary>The `rbd:` spec of image <paramref name="name"/> with the admin's configuration, and <paramref name="options"/> after it.</summary>
    public string Spec(string name, string options = "") => $"rbd:rbd/{name},conf={ConfigFile}{options}";

    /// <summary>Runs Ceph's `rbd` tool as the admin; returns its stdout.</summary>
    public string Rbd(params string[] args) => Command.Output("rbd", ["-c", ConfigFile, .. args]);

    /// <summary>Runs the `ceph` tool as the admin; returns its stdout.</summary>
    public string Ceph(params string[] args) => Command.Output("ceph", ["-c", ConfigFile, .. args]);

    /// <summary>Stops the only OSD: every read and write waits (or times out) until <see cref="StartOsd"/>.</summary>
    public void StopOsd() => Command.Run("bash", Script, "osd-stop", _directory);

    /// <summary>Starts the OSD again and returns once every placement group is active+clean.</summary>
    public void StartOsd() => Command.Run("bash", Script, "osd-start", _directory);

    public void Dispose()
    {
        try
        {
            Command.Run("bash", Script, "stop", _directory);
        }
        finally
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
    }
}
