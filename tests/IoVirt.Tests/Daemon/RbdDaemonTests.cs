using System.Runtime.InteropServices;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Backends.Blk.Rbd;
using IoVirt.Testing;
using Tmds.Linux;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// `iovirt blk --image rbd:...` on a real Ceph cluster (one per class, from Debian's packages):
/// every request kind lands on the cluster, where Ceph's own `rbd export` reads it back, and
/// every way of not reaching an image is one line and exit 1.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class RbdDaemonTests(CephCluster cluster) : IClassFixture<CephCluster>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-rbd-").FullName;

    private string Socket => Path.Combine(_directory, "blk.sock");

    [Fact]
    public void Writes_write_zeroes_and_discards_land_on_the_cluster_and_flush_succeeds()
    {
        var spec = cluster.CreateImage(64 << 20, out var name);
        using (var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--image", spec, "--queues", "2"))
        {
            daemon.WaitForSocket(Socket);
            Assert.True(daemon.IsConfined, "the daemon runs without its sandbox");
            using (var client = BlkClient.Connect(Socket))
            {
                Assert.Equal(64UL << 20 >> 9, client.CapacitySectors);
                client.WriteFilled(0, 0x11, 64 << 10);
                client.WriteFilled(1024, 0x22, 64 << 10);
                client.WriteFilled(4096, 0x33, 64 << 10);
                Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Flush, 0, 0));
                Assert.Equal(VirtioBlkStatus.Ok, Range(client, VirtioBlkRequestType.WriteZeroes, 1024, 8, VirtioBlkDiscardWriteZeroesFlags.None));
                Assert.Equal(VirtioBlkStatus.Ok, Range(client, VirtioBlkRequestType.Discard, 4096, 128, VirtioBlkDiscardWriteZeroesFlags.None));

                client.Data(0)[..4096].Fill(0xff);
                Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, 1024, 4096));
                Assert.True(client.Data(0)[..4096].IndexOfAnyExcept((byte)0) < 0, "written zeros do not read as zeros");
            }

            Assert.Contains("2 queue(s)", daemon.Stderr, StringComparison.Ordinal);
            Assert.Contains($"serving rbd:rbd/{name}", daemon.Stderr, StringComparison.Ordinal);
            Assert.Contains("Rbd engine", daemon.Stderr, StringComparison.Ordinal);
            var report = daemon.StopAndReadReport().GetProperty("totals");
            Assert.Equal(2, report.GetProperty("discards").GetInt64());
            Assert.Equal(0, report.GetProperty("errorsReported").GetInt64());
        }

        // What Ceph holds, read by Ceph's own tool.
        var exported = Path.Combine(_directory, "export.img");
        cluster.Rbd("export", $"rbd/{name}", exported);
        var bytes = File.ReadAllBytes(exported);
        Assert.Equal(64 << 20, bytes.Length);
        Assert.All(bytes.AsSpan(0, 64 << 10).ToArray(), b => Assert.Equal(0x11, b));
        Assert.True(bytes.AsSpan(1024 * 512, 4096).IndexOfAnyExcept((byte)0) < 0, "write-zeroes left data on the cluster");
        Assert.All(bytes.AsSpan((1024 * 512) + 4096, (64 << 10) - 4096).ToArray(), b => Assert.Equal(0x22, b));
        Assert.True(bytes.AsSpan(4096 * 512, 64 << 10).IndexOfAnyExcept((byte)0) < 0, "the discarded range still holds data on the cluster");
    }

    [Fact]
    public void Bench_blk_finds_every_read_of_random_verified_io_at_depth_16_right()
    {
        var spec = cluster.CreateImage(64 << 20, out _);
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--image", spec);
        daemon.WaitForSocket(Socket);
        // The verification's verdict goes to stderr, beside the figures on stdout.
        var output = Command.Output("bash", "-c", $"dotnet {DaemonProcess.ProgramPath} bench-blk --socket {Socket} --rw randrw --verify --iodepth 16 --runtime 3 --ramp 0 2>&1");
        Assert.Contains(", errors 0", output, StringComparison.Ordinal);
        Assert.Matches(@"verified [1-9]\d* bytes, 0 wrong sectors", output);
    }

    /// <summary>
    /// librbd reads a read's iovec array only when the read completes; the engine must hand it
    /// one that outlives the caller's (which a queue reuses at once). Before it did, a guest's
    /// multi-buffer read tripped librbd's assertion and took the daemon down.
    /// </summary>
    [Fact]
    public unsafe void A_read_does_not_depend_on_the_callers_buffer_list_after_the_call()
    {
        cluster.CreateImage(16 << 20, out var name);
        using var image = RbdImage.Open(RbdImageSpec.TryParse(cluster.Spec(name), out _)!, readOnly: false);
        using var engine = image.CreateEngine(image.ResolveEngine(BlockEngineKind.Auto), 8, submissionPollCpu: null);
        const int Bytes = 64 << 10;
        var source = new byte[Bytes];
        var target = new byte[Bytes];
        Random.Shared.NextBytes(source);
        fixed (byte* from = source, to = target)
        {
            engine.Write(1, 4096, [new iovec { iov_base = from, iov_len = Bytes }], durable: true);
            Assert.Equal(Bytes, Result(engine));
            var vectors = new iovec[16];
            for (var i = 0; i < vectors.Length; i++)
            {
                vectors[i] = new iovec { iov_base = to + (i * 4096), iov_len = 4096 };
            }

            engine.Read(2, 4096, vectors);
            Array.Clear(vectors);
            Assert.Equal(Bytes, Result(engine));
        }

        Assert.Equal(source, target);
    }

    [Fact]
    public void A_missing_pool_image_key_or_user_is_one_line_and_exit_1()
    {
        var wrongKey = Path.Combine(_directory, "wrong-key.conf");
        var keyring = Path.Combine(_directory, "wrong.keyring");
        File.WriteAllText(keyring, "[client.admin]\n\tkey = AQBpXlVnAAAAABAAzK4rS1yVq2c3yYg3lBvq8w==\n");
        File.WriteAllText(wrongKey, File.ReadAllText(cluster.ConfigFile).Replace($"keyring = {cluster.Directory}/ceph.$name.keyring", $"keyring = {keyring}", StringComparison.Ordinal));
        cluster.CreateImage(16 << 20, out var name);

        (string Image, string Message)[] cases =
        [
            ($"rbd:nopool/{name},conf={cluster.ConfigFile}", "the Ceph cluster has no pool 'nopool'"),
            ($"rbd:rbd/nothere,conf={cluster.ConfigFile}", "pool 'rbd' has no image 'nothere'"),
            ($"rbd:rbd/{name},conf={wrongKey}", "the Ceph cluster refused client.admin: wrong key"),
            ($"rbd:rbd/{name},conf={cluster.ConfigFile},id=nobody", "no key for client.nobody"),
            ($"rbd:rbd/{name},conf={_directory}/absent.conf", $"cannot read the Ceph configuration {_directory}/absent.conf"),
        ];
        foreach (var (image, message) in cases)
        {
            using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--image", image);
            Assert.Equal(1, daemon.WaitForExit(40_000));
            Assert.Contains(message, daemon.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", daemon.Stderr, StringComparison.Ordinal);
            Assert.Single(daemon.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("iovirt blk: ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void An_unreachable_cluster_is_reported_once_the_connect_timeout_passes()
    {
        var nowhere = Path.Combine(_directory, "nowhere.conf");
        File.WriteAllText(nowhere, File.ReadAllText(cluster.ConfigFile).Replace("mon host = ", "mon host = v2:127.0.0.1:1 # was ", StringComparison.Ordinal));
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--image", $"rbd:rbd/any,conf={nowhere}");
        Assert.Equal(1, daemon.WaitForExit(60_000));
        Assert.Contains("no Ceph monitor answered within 15 s", daemon.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", daemon.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("'pool' is not POOL/IMAGE", "--image", "rbd:pool")]
    [InlineData("timeout '0' is not a whole number of seconds from 1 to 86400", "--image", "rbd:p/i,timeout=0")]
    [InlineData("'bogus' is not an option of an RBD image", "--image", "rbd:p/i,bogus=1")]
    [InlineData("--direct is for an image file", "--image", "rbd:p/i", "--direct")]
    [InlineData("the rbd engine serves rbd: images only", "--engine", "rbd")]
    public void Bad_rbd_options_are_usage_errors(string message, params string[] options)
    {
        using var daemon = DaemonProcess.Start(["blk", "--socket", Socket, .. options]);
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains(message, daemon.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Submits the operation made and waits for its result.</summary>
    private static int Result(IBlockEngine engine)
    {
        engine.Submit();
        int result;
        while (!engine.TryTakeCompletion(out _, out result))
        {
            engine.WaitForCompletion();
        }

        return result;
    }

    private static VirtioBlkStatus Range(BlkClient client, VirtioBlkRequestType type, ulong sector, uint sectors, VirtioBlkDiscardWriteZeroesFlags flags)
    {
        var range = new VirtioBlkDiscardWriteZeroes { Sector = sector, NumSectors = sectors, Flags = flags };
        MemoryMarshal.Write(client.Data(0), in range);
        return client.Execute(type, 0, VirtioBlkDiscardWriteZeroes.Size);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
