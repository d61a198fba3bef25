using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// An image on a file system that fills up (a 4 MiB tmpfs the test mounts, holding a sparse
/// 64 MiB image): the guest gets IOERR for writes that find no room, and the next FLUSH fails
/// too; reads, writes into room already held, the daemon and its next guest go on. Before, the
/// default engine mapped such an image and the first write past the room killed the daemon
/// (SIGBUS); an explicit --engine mapped is now refused.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class StorageFaultTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-enospc-").FullName;
    private readonly string _mount;

    public StorageFaultTests()
    {
        _mount = Path.Combine(_directory, "small");
        Directory.CreateDirectory(_mount);
        Command.Run("mount", "-t", "tmpfs", "-o", "size=4M", "tmpfs", _mount);
        using var image = File.Create(Image);
        image.SetLength(64 << 20);
    }

    private string Image => Path.Combine(_mount, "disk.img");

    private string Socket => Path.Combine(_directory, "blk.sock");

    [Fact]
    public void A_full_file_system_is_an_io_error_for_the_write_and_the_next_flush_and_nothing_else()
    {
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--image", Image);
        daemon.WaitForSocket(Socket);
        Assert.Contains("Uring engine", daemon.Stderr, StringComparison.Ordinal);
        using (var client = BlkClient.Connect(Socket, new BlkClientOptions { MaxBlockSize = 1 << 20 }))
        {
            // The first MiB fits and is held from now on.
            client.Data(0)[..(1 << 20)].Fill(0x5a);
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Out, 0, 1 << 20));
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Flush, 0, 0));

            // Megabytes further on there is no room: IOERR, and the FLUSH after it says so once.
            var failed = 0;
            for (var mib = 1UL; mib < 16; mib++)
            {
                failed += client.Execute(VirtioBlkRequestType.Out, mib * 2048, 1 << 20) == VirtioBlkStatus.IoError ? 1 : 0;
            }

            Assert.True(failed > 0, "the 4 MiB file system took 16 MiB");
            Assert.Equal(VirtioBlkStatus.IoError, client.Execute(VirtioBlkRequestType.Flush, 0, 0));
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Flush, 0, 0));

            // What is held still reads and writes.
            client.Data(0)[..4096].Clear();
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, 0, 4096));
            Assert.All(client.Data(0)[..4096].ToArray(), b => Assert.Equal(0x5a, b));
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Out, 8, 4096));
        }

        // The daemon lives and serves the next guest.
        using (var next = BlkClient.Connect(Socket))
        {
            Assert.Equal(VirtioBlkStatus.Ok, next.Execute(VirtioBlkRequestType.In, 0, 512));
        }

        var report = daemon.StopAndReadReport();
        Assert.True(report.GetProperty("totals").GetProperty("errorsReported").GetInt64() >= 2);
    }

    [Fact]
    public void The_mapped_engine_is_refused_for_an_image_its_file_system_cannot_hold_whole()
    {
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--image", Image, "--engine", "mapped");

        // A usage error: another engine (the default, here) serves this image.
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains("cannot be held whole in its file system (No space left on device)", daemon.Stderr, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        // Lazily: a stopped daemon's io_uring may hold the image for a moment after it exits.
        Command.Run("umount", "--lazy", _mount);
        Directory.Delete(_directory, recursive: true);
    }
}
