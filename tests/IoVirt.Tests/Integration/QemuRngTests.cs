using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// A Linux guest in QEMU (KVM where it works, TCG otherwise) reads /dev/hwrng through
/// vhost-user-rng-pci, served by the iovirt rng daemon.
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public class QemuRngTests
{
    private const string ReadHwrng = """
        #!/bin/sh
        cat /sys/class/misc/hw_random/rng_current
        dd if=/dev/hwrng of=/tmp/r bs=1024 count=64 2>/dev/null
        n=$(wc -c < /tmp/r)
        zeros=$(od -An -v -tx1 /tmp/r | tr ' ' '\n' | grep -c '^00$')
        echo "HWRNG bytes=$n zeros=$zeros"
        [ "$n" -eq 65536 ] && [ "$zeros" -lt 1024 ]
        """;

    [Theory]
    [InlineData("")]
    [InlineData(",packed=on")]
    public void A_linux_guest_reads_random_bytes_from_hwrng_served_by_iovirt_rng(string deviceOptions)
    {
        using var daemon = RngDaemon.Start(out var socket);
        var (exit, output) = QemuGuest.Run(ReadHwrng, RngDevice(socket, deviceOptions));

        Assert.True(exit == 0, output + daemon.Stderr);
        Assert.Contains("virtio_rng.0", output, StringComparison.Ordinal);
        Assert.Contains("HWRNG bytes=65536", output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_daemon_serves_the_next_qemu_after_one_went_away()
    {
        using var daemon = RngDaemon.Start(out var socket);
        for (var run = 0; run < 2; run++)
        {
            var (exit, output) = QemuGuest.Run(ReadHwrng, RngDevice(socket, ""));
            Assert.True(exit == 0, $"run {run}: {output}{daemon.Stderr}");
        }

        daemon.WaitForStderr("front end connected (2)");
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
    }

    [Fact]
    public void A_daemon_started_on_qemus_connection_serves_it_and_ends_with_it()
    {
        // As a management layer starts a back end on a connection of its own making (libvirt's
        // socketpair): here systemd-socket-activate accepts QEMU's connection and starts the
        // daemon with it as descriptor 3, which is all the daemon serves.
        var listen = Path.Combine(Directory.CreateTempSubdirectory("iovirt-qemu-").FullName, "rng.sock");
        using var launcher = DaemonProcess.StartPerConnection(listen, "rng", "--fd", "3");
        launcher.WaitForManagerSocket(listen);
        var (exit, output) = QemuGuest.Run(ReadHwrng, RngDevice(listen, ""));

        Assert.True(exit == 0, output + launcher.Stderr);
        Assert.Contains("HWRNG bytes=65536", output, StringComparison.Ordinal);
        launcher.WaitForStderr("died with code ");
        Assert.Contains("the passed connection ended; nothing more to serve", launcher.Stderr, StringComparison.Ordinal);
        Assert.Matches("Child [0-9]+ died with code 0", launcher.Stderr);
    }

    private static string[] RngDevice(string socket, string options) =>
        ["-chardev", $"socket,id=rng0,path={socket}", "-device", $"vhost-user-rng-pci,chardev=rng0{options}"];

    private static class RngDaemon
    {
        public static DaemonProcess Start(out string socket)
        {
            socket = Path.Combine(Directory.CreateTempSubdirectory("iovirt-qemu-").FullName, "rng.sock");
            var daemon = DaemonProcess.Start("rng", "--socket", socket);
            daemon.WaitForSocket(socket);
            Assert.True(daemon.IsConfined, "the daemon runs without its sandbox");
            return daemon;
        }
    }
}
