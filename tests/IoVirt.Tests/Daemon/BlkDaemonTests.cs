using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>`iovirt blk` as a process: the default RAM disk, signals, and the errors it reports.</summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class BlkDaemonTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-blk-daemon-").FullName;

    private string Socket => Path.Combine(_directory, "blk.sock");

    [Fact]
    public void With_no_image_it_serves_a_512_mib_ram_disk_and_stops_cleanly_on_sigterm()
    {
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket);
        daemon.WaitForSocket(Socket);
        using (var client = BlkClient.Connect(Socket))
        {
            Assert.Equal(512UL << 20 >> 9, client.CapacitySectors);
            client.Data(0)[..4096].Fill(0x42);
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Out, 100, 4096));
            client.Data(0)[..4096].Clear();
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, 100, 4096));
            Assert.All(client.Data(0)[..4096].ToArray(), b => Assert.Equal(0x42, b));
        }

        Assert.Contains("memory:iovirt-ramdisk: 536870912 bytes, 1 queue(s), Mapped engine", daemon.Stderr, StringComparison.Ordinal);
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        Assert.False(File.Exists(Socket), "the socket file was left behind");
    }

    [Theory]
    [InlineData("--socket PATH or --fd N is required")]
    [InlineData("Unrecognized command or argument '--bogus'", "--socket", "x", "--bogus")]
    [InlineData("--image and --ram exclude each other", "--socket", "x", "--image", "a", "--ram", "1M")]
    [InlineData("bad --ram '1000': a RAM disk is a whole number of 512-byte sectors, at least 1M", "--socket", "x", "--ram", "1000")]
    [InlineData("bad --ram '1k': a RAM disk is a whole number of 512-byte sectors, at least 1M", "--socket", "x", "--ram", "1k")]
    [InlineData("bad --ram '1T': a RAM disk of 1099511627776 bytes is more than this machine's memory", "--socket", "x", "--ram", "1T")]
    [InlineData("bad --engine 'fast'", "--socket", "x", "--engine", "fast")]
    [InlineData("--serial is at most 20 ASCII characters", "--socket", "x", "--serial", "012345678901234567890")]
    public void Usage_errors_exit_with_2_and_say_what_is_wrong(string message, params string[] options)
    {
        using var daemon = DaemonProcess.Start(["blk", .. options]);
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains(message, daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void The_mapped_engine_refuses_an_image_on_disk()
    {
        var image = Path.Combine(_directory, "disk.img");
        File.WriteAllBytes(image, new byte[1 << 20]);
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--image", image, "--engine", "mapped");
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains($"the mapped engine cannot serve this image: {image} is not in RAM", daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void With_fixed_buffers_the_uring_engine_registers_the_guests_memory_and_serves_from_it()
    {
        var image = Path.Combine(_directory, "disk.img");
        File.WriteAllBytes(image, new byte[1 << 20]);
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--image", image, "--engine", "uring", "--fixed-buffers");
        daemon.WaitForSocket(Socket);
        using (var client = BlkClient.Connect(Socket))
        {
            client.Data(0)[..4096].Fill(0x5a);
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Out, 8, 4096));
            client.Data(0)[..4096].Clear();
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, 8, 4096));
            Assert.All(client.Data(0)[..4096].ToArray(), b => Assert.Equal(0x5a, b));
        }

        daemon.WaitForStderr("fixed buffer(s)");
        Assert.Matches(@"io_uring: guest memory \(\d+ MiB\) registered as [1-9]\d* fixed buffer\(s\)", daemon.Stderr);
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());

        // The image's lock goes with the ring's registered file, which the kernel closes some
        // moments after the process exits: wait for it, as BlockFile.Lock does.
        byte[]? written = null;
        Assert.True(SpinWait.SpinUntil(() => TryRead(image, out written), TimeSpan.FromSeconds(10)), "the image stayed locked");
        Assert.Equal(0x5a, written![8 * 512]);
    }

    [Theory]
    [InlineData("--fixed-buffers", "--fixed-buffers: fixed buffers are for the uring engine, not mapped")]
    [InlineData("--sqpoll=0", "--sqpoll: submission polling is for the uring engine, not mapped")]
    public void An_io_uring_option_with_another_engine_exits_with_2_and_names_the_option(string option, string error)
    {
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--engine", "mapped", option);
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains(error, daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_image_exits_with_1()
    {
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--image", Path.Combine(_directory, "none.img"));
        Assert.Equal(1, daemon.WaitForExit());
        Assert.Contains("cannot open", daemon.Stderr, StringComparison.Ordinal);
    }

    private static bool TryRead(string path, out byte[]? bytes)
    {
        try
        {
            bytes = File.ReadAllBytes(path);
            return true;
        }
        catch (IOException)
        {
            bytes = null;
            return false;
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
