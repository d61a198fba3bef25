using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Backends.Gpu;
using IoVirt.Interop;
using IoVirt.Testing;
using IoVirt.Tests.Gpu;
using IoVirt.VhostUser;

namespace IoVirt.Tests.VhostUser;

/// <summary>
/// The GPU served over vhost-user as QEMU's vhost-user-gpu drives it: GPU_SET_SOCKET hands over
/// the display socket, the guest's commands arrive on the control ring, and what it shows reaches
/// the display as vhost-user-gpu messages (protocol features first, then SCANOUT and UPDATE).
/// </summary>
public sealed class GpuOverVhostUserTests
{
    [Fact]
    public void A_picture_the_guest_draws_reaches_the_front_ends_display()
    {
        using var bed = new VhostUserTestBed(new GpuDevice(new GpuDeviceOptions()));
        using var frontend = Handshake.Connect(bed);
        var (backEndSide, display) = UnixSocket.Pair();
        using (display)
        {
            using (backEndSide)
            {
                frontend.SetGpuSocket(backEndSide);
            }

            Assert.Equal(1U, MemoryMarshal.Read<VirtioGpuConfig>(frontend.GetConfig(0, VirtioGpuConfig.Size)).NumScanouts);
            using var queue = FrontendQueue.Start(frontend, bed.Memory, GpuDevice.ControlQueue, 16, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
            frontend.SetVringEnable(GpuDevice.ControlQueue, true);
            const uint width = 8, height = 4;
            var picture = GpuWire.Picture(width, height);

            var (scanout, update, shown) = GpuWire.ShowPictureTo(display, bed.Memory, queue, VhostUserTestBed.DataBase, VhostUserTestBed.DataBase + 0x10_0000, width, height, picture, "by the in-process session");

            Assert.Equal((0U, width, height), (scanout.ScanoutId, scanout.Width, scanout.Height));
            Assert.Equal((0U, 0U, 0U, width, height), (update.ScanoutId, update.X, update.Y, update.Width, update.Height));
            GpuWire.AssertShownAsX8R8G8B8(picture, shown);
        }
    }

    [Fact]
    public void A_device_without_a_display_refuses_the_gpu_socket()
    {
        using var bed = new VhostUserTestBed(new IoVirt.Backends.Rng.RngDevice());
        using var frontend = Handshake.Connect(bed);
        var (backEndSide, display) = UnixSocket.Pair();
        using (display)
        using (backEndSide)
        {
            Assert.Throws<VhostUserProtocolException>(() => frontend.SetGpuSocket(backEndSide));
        }
    }
}
