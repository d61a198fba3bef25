using IoVirt.Testing;
using Xunit.Abstractions;

namespace IoVirt.Tests.Integration;

/// <summary>
/// QEMU live-migrates a running guest between two QEMU processes on this machine (TCG), each with
/// its own <c>iovirt blk</c> on one shared image (<c>--share-rw</c>) and its own <c>iovirt net</c>
/// on a TAP in one bridge, while the guest reads and writes its disk (fio, with verification) and
/// is pinged from the bridge.
/// </summary>
[Collection(MigrationCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class QemuMigrationTests : IDisposable
{
    private const string GuestAddress = "10.0.0.2";
    private const string GuestMac = "52:54:00:12:34:56";

    private readonly ITestOutputHelper _output;
    private readonly NetNamespace _netNamespace = NetNamespace.WithBridge("br0", "10.0.0.1/24");
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-migration-").FullName;

    public QemuMigrationTests(ITestOutputHelper output) => _output = output;

    /// <summary>
    /// The destination stays paused after the migration while both sides' RAM is compared: the
    /// guest's reads (and the pings' frames) were written by the source back ends into guest
    /// memory during the migration, so a page written but not logged would differ (with logging
    /// turned off in the back end, 111 pages did). fio's verification then runs on at the
    /// destination, through the other back ends, on what the source wrote. With packed rings the
    /// destination once restarted its disk's ring at slot 0 (a new inflight area overrode the
    /// ring's base), and the guest's I/O hung.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_guest_migrates_under_fio_verify_and_its_memory_arrives_whole(bool packed)
    {
        var rings = packed ? ",packed=on" : string.Empty;
        var image = Path.Combine(_directory, "disk.img");
        using (var file = File.Create(image))
        {
            file.SetLength(64 << 20);
        }

        using var sourceDisk = StartBlk("source-blk.sock", image);
        using var destinationDisk = StartBlk("destination-blk.sock", image);
        using var sourceNic = StartNet("tap0");
        using var destinationNic = StartNet("tap1");
        using var ping = new PingWatch(_netNamespace, GuestAddress);

        var run = QemuMigration.Run(
            [.. QemuGuest.VhostUserBlk(sourceDisk.Socket, rings), .. QemuGuest.VhostUserNic(sourceNic.Socket, GuestMac, deviceOptions: rings)],
            [.. QemuGuest.VhostUserBlk(destinationDisk.Socket, rings), .. QemuGuest.VhostUserNic(destinationNic.Socket, GuestMac, deviceOptions: rings)],
            compareMemory: true);

        _output.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, run.Output + sourceDisk.Process.Stderr + destinationDisk.Process.Stderr);
        Assert.Equal("completed", run.Figures.Status);
        Assert.Equal(0, run.Figures.DifferingPages);
        Assert.Contains("FIO-STATUS 0", run.Output, StringComparison.Ordinal);
        Assert.True(ping.AnsweredAfter(run.Figures.Completed) > 0, "no ping was answered after the migration");

        // Both sides served: the source until the migration, the destination after it.
        foreach (var disk in new[] { sourceDisk, destinationDisk })
        {
            var totals = disk.Process.StopAndReadReport().GetProperty("totals");
            Assert.True(totals.GetProperty("reads").GetInt64() > 0 && totals.GetProperty("writes").GetInt64() > 0, totals.ToString());
        }
    }

    /// <summary>
    /// Without the destination's announcement the bridge would send the guest's frames to the
    /// source's TAP, whose back end no longer serves it, until the guest spoke first; the
    /// destination's QEMU asks our back end for it (SEND_RARP), which sends a RARP from the
    /// guest's MAC on the new TAP.
    /// </summary>
    [Fact]
    public void A_pinged_guest_is_unreachable_for_at_most_a_second_across_the_migration()
    {
        using var sourceNic = StartNet("tap0");
        using var destinationNic = StartNet("tap1");
        using var ping = new PingWatch(_netNamespace, GuestAddress);

        var run = QemuMigration.Run(
            QemuGuest.VhostUserNic(sourceNic.Socket, GuestMac),
            QemuGuest.VhostUserNic(destinationNic.Socket, GuestMac),
            compareMemory: false);

        var silence = ping.LongestSilence;
        _output.WriteLine(run.Output);
        _output.WriteLine($"migration {run.Figures.TotalMs} ms, downtime {run.Figures.DowntimeMs} ms; longest ping silence {silence.TotalMilliseconds} ms; {ping.Answered} answers, {ping.AnsweredAfter(run.Figures.Completed)} after the migration");
        Assert.True(run.ExitCode == 0, run.Output + destinationNic.Process.Stderr);
        Assert.Equal("completed", run.Figures.Status);
        destinationNic.Process.WaitForStderr("announced 52:54:00:12:34:56");
        var afterwards = ping.AnsweredAfter(run.Figures.Completed);
        Assert.True(afterwards > 100, $"{afterwards} pings answered after the migration\n{destinationNic.Process.Stderr}");
        Assert.True(silence <= TimeSpan.FromSeconds(1), $"the guest did not answer for {silence.TotalMilliseconds} ms\n{destinationNic.Process.Stderr}");
        var received = destinationNic.Process.StopAndReadReport().GetProperty("rxFrames").GetInt64();
        Assert.True(received > 0, "no frame reached the guest through the destination's back end");
    }

    public void Dispose()
    {
        _netNamespace.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private ServedDaemon StartBlk(string name, string image) => ServedDaemon.Blk(Path.Combine(_directory, name), "--image", image, "--share-rw");

    private ServedDaemon StartNet(string tap) => ServedDaemon.NetOnBridge(_netNamespace, _directory, tap, "br0");
}
