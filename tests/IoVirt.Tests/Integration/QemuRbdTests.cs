using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// A Linux guest in QEMU uses /dev/vda through vhost-user-blk-pci, served by `iovirt blk` on an
/// RBD image of a real Ceph cluster (one for the class): fio verifies its writes, a kill -9
/// of the back end with a restart on the same image loses no acknowledged write, and the guest
/// live-migrates between two back ends on one image.
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class QemuRbdTests(CephCluster cluster) : IClassFixture<CephCluster>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-qemu-rbd-").FullName;

    private string Socket => Path.Combine(_directory, "blk.sock");

    [Fact]
    public void Fio_verifies_random_writes_of_4k_to_1m_on_two_queues()
    {
        var image = cluster.CreateImage(128 << 20, out _);
        using var daemon = StartDaemon(image, "--queues", "2");
        var (exit, output) = QemuGuest.Run(
            """
            #!/bin/sh
            echo "QUEUES $(ls /sys/block/vda/mq | wc -l)"
            fio --name=verify --filename=/dev/vda --rw=randwrite --bsrange=4k-1M --size=48M --direct=1 \
                --ioengine=libaio --iodepth=8 --numjobs=2 --offset_increment=48M \
                --verify=crc32c --do_verify=1 --verify_fatal=1 --group_reporting 2>&1 | grep -E "err=|verify|WRITE:|READ:"
            """,
            [.. QemuGuest.VhostUserBlk(Socket, ",num-queues=2"), "-smp", "2"],
            timeoutSeconds: 240);

        Assert.True(exit == 0, output + daemon.Stderr);
        Assert.Contains("QUEUES 2", output, StringComparison.Ordinal);
        Assert.Matches(QemuBlkTests.ErrZero(), output);
        Assert.Contains("Rbd engine", daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_guest_rides_out_a_kill_9_and_restart_of_the_back_end_on_the_same_image()
    {
        var image = cluster.CreateImage(64 << 20, out _);
        using var second = await BackEndRestartUnderFio.Run(
            Socket, packed: false, "32M", 2, () => StartDaemon(image, "--log-level", "debug"), r => r.GetProperty("totals").GetProperty("writes").GetInt64());
        second.WaitForStderr("front end connected (1)");
        second.WaitForStderr("SetInflightFd");
    }

    /// <summary>
    /// Two daemons hold the one image open at once, as two QEMUs do when they migrate a guest on
    /// RBD: librbd's exclusive lock passes from the source's daemon to the destination's when
    /// the destination first writes. Every write the source acknowledged must be what the
    /// destination reads (fio's verification runs across the move), and every page the source
    /// daemon wrote into guest memory must be in the dirty log (the memories are compared).
    /// </summary>
    [Fact]
    public void A_guest_migrates_under_fio_verify_between_two_back_ends_on_one_image()
    {
        var image = cluster.CreateImage(64 << 20, out _);
        using var source = ServedDaemon.Blk(Path.Combine(_directory, "source.sock"), "--image", image);
        using var destination = ServedDaemon.Blk(Path.Combine(_directory, "destination.sock"), "--image", image);

        var run = QemuMigration.Run(QemuGuest.VhostUserBlk(source.Socket), QemuGuest.VhostUserBlk(destination.Socket), compareMemory: true);

        Assert.True(run.ExitCode == 0, run.Output + source.Process.Stderr + destination.Process.Stderr);
        Assert.Equal("completed", run.Figures.Status);
        Assert.Equal(0, run.Figures.DifferingPages);
        Assert.Contains("FIO-STATUS 0", run.Output, StringComparison.Ordinal);
        foreach (var side in new[] { source, destination })
        {
            var totals = side.Process.StopAndReadReport().GetProperty("totals");
            Assert.True(totals.GetProperty("reads").GetInt64() > 0 && totals.GetProperty("writes").GetInt64() > 0, totals.ToString());
        }
    }

    private DaemonProcess StartDaemon(string image, params string[] options)
    {
        var daemon = DaemonProcess.Start(["blk", "--socket", Socket, "--image", image, .. options]);
        daemon.WaitForSocket(Socket, 40_000);
        Assert.True(daemon.IsConfined, "the daemon runs without its sandbox");
        return daemon;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
