using IoVirt.Abi.Gpu;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Tests.Gpu;
using IoVirt.VhostUser;

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

        var fromOurs = Show(ourSocket, picture, ours.Stderr);
        var fromQemu = Show(qemuSocket, picture, qemu.Stderr);
        Assert.Equal((fromQemu.Width, fromQemu.Height), (fromOurs.Width, fromOurs.Height));
        Assert.Equal((Width, Height), (fromOurs.Width, fromOurs.Height));
        Assert.Equal(picture, fromQemu.Pixels);
        Assert.Equal(fromQemu.Pixels, fromOurs.Pixels);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Shows the picture through the back end at <paramref name="socket"/>; what its display received.</summary>
    private static (uint Width, uint Height, byte[] Pixels) Show(string socket, byte[] picture, string context)
    {
        using var memory = new GuestMemory(GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, 2 << 20));
        using var frontend = VhostUserFrontend.Connect(socket);
        var (backEndSide, display) = UnixSocket.Pair();
        using (display)
        {
            using (backEndSide)
            {
                frontend.SetGpuSocket(backEndSide);
            }

            using var queue = FirstRing.Start(frontend, memory);
            var (scanout, _, shown) = GpuWire.ShowPictureTo(display, memory, queue, VhostUserTestBed.MemoryBase + 0x8_0000, VhostUserTestBed.MemoryBase + 0x10_0000, Width, Height, picture, context, VirtioGpuFormat.B8G8R8X8Unorm);
            return (scanout.Width, scanout.Height, shown);
        }
    }
}
