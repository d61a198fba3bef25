using IoVirt.Abi.Gpu;
using IoVirt.Testing;
using IoVirt.Tests.Gpu;

namespace IoVirt.Tests.Integration;

/// <summary>
/// QEMU's own GPU back end (/usr/lib/qemu/vhost-user-gpu, Debian's qemu-system-gui) and ours get
/// the same command sequence from the same VM-free front end: the VMM's display end receives the
/// same scanout and the same pixels from both, in B8G8R8X8, the format Linux's driver uses. (For
/// other formats QEMU's back end sends the resource's bytes as they are, though QEMU's display
/// reads every update as x8r8g8b8; ours converts, see GpuDaemonTests.)
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class GpuPeerTests : IDisposable
{
    private const string QemuGpu = "/usr/lib/qemu/vhost-user-gpu";
    private const uint Width = 40;
    private const uint Height = 24;

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-gpu-peer-").FullName;

    [Fact]
    public void Qemus_back_end_and_ours_show_the_same_picture()
    {
        Assert.True(File.Exists(QemuGpu), $"{QemuGpu} is missing: run tests/setup.sh (Debian's qemu-system-gui)");
        var ourSocket = Path.Combine(_directory, "ours.sock");
        var qemuSocket = Path.Combine(_directory, "qemu.sock");
        using var ours = DaemonProcess.Start("gpu", "--socket", ourSocket);
        using var qemu = DaemonProcess.StartPeer(QemuGpu, "--socket-path", qemuSocket);
        ours.WaitForSocket(ourSocket);
        qemu.WaitForListening(qemuSocket);

        var picture = GpuWire.Picture(Width, Height);
        for (var i = 3; i < picture.Length; i += 4)
        {
            picture[i] = 0xff; // the X byte, which a display ignores and we set
        }

        var fromOurs = GpuWire.ShowThrough(ourSocket, Width, Height, picture, ours.Stderr, VirtioGpuFormat.B8G8R8X8Unorm);
        var fromQemu = GpuWire.ShowThrough(qemuSocket, Width, Height, picture, qemu.Stderr, VirtioGpuFormat.B8G8R8X8Unorm);
        Assert.Equal((fromQemu.Scanout.Width, fromQemu.Scanout.Height), (fromOurs.Scanout.Width, fromOurs.Scanout.Height));
        Assert.Equal((Width, Height), (fromOurs.Scanout.Width, fromOurs.Scanout.Height));
        Assert.Equal(picture, fromQemu.Pixels);
        Assert.Equal(fromQemu.Pixels, fromOurs.Pixels);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
