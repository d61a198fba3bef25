using System.Diagnostics;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// A shared image with a bad range: tests/faults/badrange.c, a FUSE file system built here, fails
/// every read and write touching 64 KiB at 1 MiB with EIO, as bad sectors would. One `iovirt mux`
/// serves two disks on it; the bad range lies in the first. Its guest gets IOERR there, and the
/// FLUSH after a failed write fails too; the rest of its disk, the other disk (verified reads
/// and writes at the same time) and the daemon go on.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class BadRangeTests : IDisposable
{
    private const int Mib = 1 << 20;

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-eio-").FullName;
    private readonly Process _fuse;

    public BadRangeTests()
    {
        var program = Path.Combine(_directory, "badrange");
        var source = Path.Combine(QemuGuest.RepositoryRoot, "tests", "faults", "badrange.c");
        Command.Run("bash", "-c", $"gcc -O2 -Wall -Werror -o {program} {source} $(pkg-config fuse3 --cflags --libs)");
        var backing = Path.Combine(_directory, "backing.img");
        using (var file = File.Create(backing))
        {
            file.SetLength(16 * Mib);
        }

        // Mounted over an empty file: the image is that path, and its volume table sits beside it as usual.
        File.WriteAllBytes(Image, []);
        _fuse = Process.Start(new ProcessStartInfo(program, [backing, $"{Mib}:{64 << 10}", Image]) { RedirectStandardError = true })!;
        SpinWait.SpinUntil(() => new FileInfo(Image).Length == 16 * Mib || _fuse.HasExited, TimeSpan.FromSeconds(20));
        Assert.True(new FileInfo(Image).Length == 16 * Mib, "the FUSE file system did not come up: " + (_fuse.HasExited ? _fuse.StandardError.ReadToEnd() : string.Empty));
    }

    private string Image => Path.Combine(_directory, "disk.img");

    private string Socket(string disk) => Path.Combine(_directory, disk + ".sock");

    [Fact]
    public void Bad_sectors_fail_only_the_requests_on_them_and_the_next_flush()
    {
        var config = Path.Combine(_directory, "mux.json");
        File.WriteAllText(config, $$"""
            { "image": "{{Image}}", "capacityIops": 100000, "disks": [
              { "name": "bad", "socket": "{{Socket("bad")}}", "size": "8M" },
              { "name": "good", "socket": "{{Socket("good")}}", "size": "8M" } ] }
            """);
        using var daemon = DaemonProcess.Start("mux", "--config", config);
        daemon.WaitForSocket(Socket("good"));

        // The other disk's guest verifies its reads and writes all along.
        using var good = DaemonProcess.Start("bench-blk", "--socket", Socket("good"), "--verify", "--rw", "randrw", "--iodepth", "8", "--runtime", "3", "--ramp", "0");
        using (var client = BlkClient.Connect(Socket("bad")))
        {
            const ulong BadSector = Mib / 512;
            client.Data(0)[..4096].Fill(0x11);
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Out, 0, 4096));
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Flush, 0, 0));

            Assert.Equal(VirtioBlkStatus.IoError, client.Execute(VirtioBlkRequestType.In, BadSector + 8, 4096));
            Assert.Equal(VirtioBlkStatus.IoError, client.Execute(VirtioBlkRequestType.Out, BadSector, 4096));
            Assert.Equal(VirtioBlkStatus.IoError, client.Execute(VirtioBlkRequestType.Flush, 0, 0));
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Flush, 0, 0));

            // Around the bad range all is well.
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, BadSector - 8, 4096));
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Out, BadSector + 128, 4096));
            client.Data(0)[..4096].Clear();
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, 0, 4096));
            Assert.All(client.Data(0)[..4096].ToArray(), b => Assert.Equal(0x11, b));
        }

        Assert.Equal(0, good.WaitForExit(60_000));
        Assert.Matches(@"verified [1-9]\d* bytes, 0 wrong sectors", good.Stderr);
        var report = daemon.StopAndReadReport();
        Assert.Equal(0, report.GetProperty("disks").GetProperty("inFlight").GetInt32());
    }

    public void Dispose()
    {
        // Lazily: a stopped daemon's io_uring may hold the image for a moment after it exits.
        Command.Run("fusermount3", "-u", "-z", Image);
        _fuse.WaitForExit(10_000);
        _fuse.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
