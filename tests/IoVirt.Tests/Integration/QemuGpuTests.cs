using IoVirt.Testing;
using IoVirt.Tests.Gpu;

namespace IoVirt.Tests.Integration;

/// <summary>
/// QEMU's vhost-user-gpu-pci with `iovirt gpu` behind it: Linux's virtio-gpu driver (Debian's full
/// kernel) probes our device, takes our display mode as its frame buffer's, and the text it draws
/// on its console reaches our PNG snapshot through the whole path (driver, virtqueues, vhost-user,
/// our resources and transfers). QEMU 10 (7.2 refuses vhost-user-gpu-pci under TCG).
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class QemuGpuTests : IDisposable
{
    /// <summary>
    /// Waits for the frame buffer, prints its size, and fills 30 console lines with '#': the
    /// console then covers a fifth of the screen with lit pixels, where a boot leaves well under 1%.
    /// </summary>
    private const string DrawText = """
        #!/bin/sh
        for i in $(seq 1 100); do [ -e /dev/fb0 ] && break; sleep 0.1; done
        echo "FB $(cat /sys/class/graphics/fb0/virtual_size)"
        line=$(printf '%0160d' 0 | tr 0 '#')
        i=0; while [ $i -lt 30 ]; do echo "$line" > /dev/tty0; i=$((i+1)); done
        sleep 1
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-qemu-gpu-").FullName;

    [Fact]
    public void The_guests_console_text_reaches_the_snapshot()
    {
        var socket = Path.Combine(_directory, "gpu.sock");
        using var daemon = DaemonProcess.Start("gpu", "--socket", socket, "--width", "1280", "--height", "800", "--snapshot", _directory, "--sandbox", "none");
        daemon.WaitForSocket(socket);

        var (exit, output) = QemuGuest.RunGpu(DrawText, ["-chardev", $"socket,id=gpu0,path={socket}", "-device", "vhost-user-gpu-pci,chardev=gpu0"]);
        Assert.True(exit == 0, output + daemon.Stderr);
        Assert.Contains("FB 1280,800", output, StringComparison.Ordinal);

        var image = PngImage.Read(File.ReadAllBytes(Path.Combine(_directory, "scanout-0.png")));
        Assert.Equal((1280U, 800U), (image.Width, image.Height));
        var lit = 0;
        for (var y = 0; y < image.Height; y++)
        {
            for (var x = 0; x < image.Width; x++)
            {
                lit += image.Pixel(x, y) == (0, 0, 0) ? 0 : 1;
            }
        }

        Assert.True(lit > image.Width * image.Height / 10, $"{lit} lit pixels of {image.Width * image.Height}");
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        Assert.Contains("\"errors\":0", daemon.Stdout, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
