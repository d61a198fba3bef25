using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Backends.Blk.Load;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// `iovirt mux` with its volumes on Ceph (image rbd:rbd/PREFIX): each disk gets an RBD image of
/// its own, made by the mux, kept across restarts, listed and removed by `iovirt mux volumes`,
/// and arbitrated as volumes of a file are.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class MuxRbdTests(CephCluster cluster) : IClassFixture<CephCluster>, IDisposable
{
    private const int Mib = 1 << 20;
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-mux-rbd-").FullName;

    [Fact]
    public void Each_disk_gets_an_image_of_its_own_kept_across_restarts_and_removed_only_when_unused()
    {
        var image = $"rbd:rbd/vm,conf={cluster.ConfigFile}";
        using (var daemon = Start(image, 1000, Disk("a", "2M"), Disk("b", "3M")))
        {
            using var a = BlkClient.Connect(Socket("a"));
            using var b = BlkClient.Connect(Socket("b"));
            Assert.Equal((ulong)(2 * Mib / 512), a.CapacitySectors);
            Assert.Equal((ulong)(3 * Mib / 512), b.CapacitySectors);
            a.WriteFilled(8, 0xaa);
            b.WriteFilled(8, 0xbb);
            Assert.Equal(0xaa, a.ReadFilled(8));
            Assert.Equal(0xbb, b.ReadFilled(8));
            Assert.Equal(VirtioBlkStatus.IoError, a.Execute(VirtioBlkRequestType.In, a.CapacitySectors, 512));
            Assert.Contains("disk b on " + Socket("b") + ": 3145728 bytes at 0 of rbd:rbd/vm-b, Rbd engine", daemon.Stderr, StringComparison.Ordinal);

            // The mux holds its images open: librbd refuses to remove one.
            var busy = Volumes("remove", "--image", image, "--name", "a");
            Assert.Equal(1, busy.ExitCode);
            Assert.Contains("cannot remove RBD image rbd/vm-a", busy.Output, StringComparison.Ordinal);
            daemon.StopAndReadReport();
        }

        Assert.Equal(["vm-a", "vm-b"], cluster.Rbd("ls", "rbd").Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(n => n.StartsWith("vm-", StringComparison.Ordinal)).Order());
        var listed = Volumes("list", "--image", image);
        Assert.Equal(0, listed.ExitCode);
        Assert.Matches(@"a\s+2097152\s+0\n", listed.Output);
        Assert.Matches(@"b\s+3145728\s+0\n", listed.Output);

        using (var daemon = Start(image, 1000, Disk("a", "2M")))
        {
            using var a = BlkClient.Connect(Socket("a"));
            Assert.Equal(0xaa, a.ReadFilled(8));
            daemon.StopAndReadReport();
        }

        using (var daemon = Launch(image, 1000, Disk("b", "5M")))
        {
            Assert.Equal(1, daemon.WaitForExit(40_000));
            Assert.Contains("volume 'b' exists as rbd/vm-b with 3145728 bytes, not the 5242880 asked for", daemon.Stderr, StringComparison.Ordinal);
        }

        Assert.Equal(0, Volumes("remove", "--image", image, "--name", "b").ExitCode);
        Assert.DoesNotContain("vm-b", cluster.Rbd("ls", "rbd"), StringComparison.Ordinal);
        Assert.Equal(1, Volumes("remove", "--image", image, "--name", "b").ExitCode);
    }

    [Fact]
    public void A_disk_on_ceph_never_exceeds_its_limit()
    {
        const double Limit = 200;
        using var daemon = Start($"rbd:rbd/limited,conf={cluster.ConfigFile}", 100_000, $$"""{ "name": "l", "socket": "{{Socket("l")}}", "size": "16M", "limitIops": {{Limit}} }""");
        var result = BlkLoadGenerator.Run(new BlkLoadOptions
        {
            SocketPath = Socket("l"),
            Pattern = BlkPattern.RandRead,
            BlockSize = 4096,
            IoDepth = 8,
            Runtime = TimeSpan.FromSeconds(2),
            RampTime = TimeSpan.FromSeconds(0.5),
        });
        Assert.InRange(result.Iops, 0.8 * Limit, 1.02 * Limit);
        Assert.Equal(0, result.Errors);
    }

    private string Socket(string disk) => Path.Combine(_directory, disk + ".sock");

    private string Disk(string name, string size) => $$"""{ "name": "{{name}}", "socket": "{{Socket(name)}}", "size": "{{size}}" }""";

    /// <summary>Starts a mux on <paramref name="image"/> and waits until it serves every disk.</summary>
    private DaemonProcess Start(string image, int capacityIops, params string[] disks)
    {
        var daemon = Launch(image, capacityIops, disks);
        foreach (var disk in disks)
        {
            daemon.WaitForSocket(disk.Split('"')[7], 40_000);
        }

        Assert.True(daemon.IsConfined, "the mux runs without its sandbox");
        return daemon;
    }

    private DaemonProcess Launch(string image, int capacityIops, params string[] disks)
    {
        var path = Path.Combine(_directory, "mux.json");
        File.WriteAllText(path, $$"""{ "image": "{{image}}", "capacityIops": {{capacityIops}}, "disks": [ {{string.Join(", ", disks)}} ] }""");
        return DaemonProcess.Start("mux", "--config", path);
    }

    private static (int ExitCode, string Output) Volumes(params string[] args)
    {
        using var process = DaemonProcess.Start(["mux", "volumes", .. args]);
        var exit = process.WaitForExit(40_000);
        return (exit, process.Stdout + process.Stderr);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
