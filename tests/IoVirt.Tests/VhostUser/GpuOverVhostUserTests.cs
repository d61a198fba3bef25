using System.Runtime.InteropServices;
using IoVirt.Abi.Gpu;
using IoVirt.Abi.VhostUser;
using IoVirt.Backends.Gpu;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue.Driver;
using IoVirt.VhostUser;
using Microsoft.Win32.SafeHandles;

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

            var config = frontend.GetConfig(0, VirtioGpuConfig.Size);
            Assert.Equal(1U, MemoryMarshal.Read<VirtioGpuConfig>(config).NumScanouts);
            using var queue = FrontendQueue.Start(frontend, bed.Memory, GpuDevice.ControlQueue, 16, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
            frontend.SetVringEnable(GpuDevice.ControlQueue, true);

            const uint width = 8, height = 4;
            var pixels = new byte[width * height * 4];
            for (var i = 0; i < pixels.Length; i++)
            {
                pixels[i] = (byte)(i & 0xff);
            }

            var backing = VhostUserTestBed.DataBase + 0x10_0000;
            Assert.Equal(MemoryFault.None, bed.Memory.Write(backing, pixels));
            var header = static (VirtioGpuCtrlType type) => new VirtioGpuCtrlHeader { Type = type };
            var rect = new VirtioGpuRect(0, 0, width, height);
            Command(bed, queue, new VirtioGpuResourceCreate2d { Header = header(VirtioGpuCtrlType.ResourceCreate2d), ResourceId = 3, Format = VirtioGpuFormat.R8G8B8A8Unorm, Width = width, Height = height });
            Command(bed, queue, new VirtioGpuResourceAttachBacking { Header = header(VirtioGpuCtrlType.ResourceAttachBacking), ResourceId = 3, NrEntries = 1 }, MemoryMarshal.AsBytes([new VirtioGpuMemEntry { Addr = backing, Length = (uint)pixels.Length }]));
            Command(bed, queue, new VirtioGpuTransferToHost2d { Header = header(VirtioGpuCtrlType.TransferToHost2d), ResourceId = 3, Rect = rect });

            // The device negotiates before its first display message; the display answers.
            Exception? failed = null;
            var commands = new Thread(() =>
            {
                failed = Record.Exception(() =>
                {
                    Command(bed, queue, new VirtioGpuSetScanout { Header = header(VirtioGpuCtrlType.SetScanout), ScanoutId = 0, ResourceId = 3, Rect = rect });
                    Command(bed, queue, new VirtioGpuResourceFlush { Header = header(VirtioGpuCtrlType.ResourceFlush), ResourceId = 3, Rect = rect });
                });
            });
            commands.Start();
            var (request, _) = Receive(display);
            Assert.Equal(VhostUserGpuRequest.GetProtocolFeatures, request);
            var reply = new VhostUserHeader { Request = (uint)VhostUserGpuRequest.GetProtocolFeatures, Flags = VhostUserHeaderFlags.Reply, PayloadSize = 8 };
            display.Send([.. MemoryMarshal.AsBytes([reply]), .. new byte[8]]);
            (request, var payload) = Receive(display);
            Assert.Equal((VhostUserGpuRequest.SetProtocolFeatures, 0UL), (request, MemoryMarshal.Read<ulong>(payload)));
            (request, payload) = Receive(display);
            var scanout = MemoryMarshal.Read<VhostUserGpuScanout>(payload);
            Assert.Equal((VhostUserGpuRequest.Scanout, 0U, width, height), (request, scanout.ScanoutId, scanout.Width, scanout.Height));
            (request, payload) = Receive(display);
            var update = MemoryMarshal.Read<VhostUserGpuUpdate>(payload);
            Assert.Equal((VhostUserGpuRequest.Update, 0U, 0U, 0U, width, height), (request, update.ScanoutId, update.X, update.Y, update.Width, update.Height));
            var shown = payload[VhostUserGpuUpdate.Size..];
            for (var i = 0; i < pixels.Length; i += 4)
            {
                // R8G8B8A8 in guest memory; x8r8g8b8 words (blue first, alpha 0xff) on the wire.
                Assert.Equal([pixels[i + 2], pixels[i + 1], pixels[i], 0xff], shown.AsSpan(i, 4).ToArray());
            }

            Assert.True(commands.Join(10_000), "the commands were not answered");
            Assert.Null(failed);
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

    private static void Command<T>(VhostUserTestBed bed, FrontendQueue queue, T command, ReadOnlySpan<byte> trailer = default)
        where T : unmanaged
    {
        var request = VhostUserTestBed.DataBase;
        var answer = VhostUserTestBed.DataBase + 0x8000;
        Assert.Equal(MemoryFault.None, bed.Memory.Write(request, [.. MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in command)), .. trailer]));
        Assert.True(queue.Driver.TryAdd([new DriverBuffer(request, (uint)(Marshal.SizeOf<T>() + trailer.Length), false), new DriverBuffer(answer, 64, true)], false, out var id));
        queue.Submit();
        Assert.True(queue.TryWaitUsed(out var used, out var written, 10_000), $"{typeof(T).Name} was not answered");
        Assert.Equal((id, 24U), (used, written));
        Assert.Equal(MemoryFault.None, bed.Memory.Read(answer, out VirtioGpuCtrlHeader header));
        Assert.Equal(VirtioGpuCtrlType.OkNoData, header.Type);
    }

    private static (VhostUserGpuRequest Request, byte[] Payload) Receive(UnixSocket display)
    {
        var header = new byte[VhostUserHeader.Size];
        ReceiveExactly(display, header);
        var parsed = MemoryMarshal.Read<VhostUserHeader>(header);
        Assert.Equal(VhostUserHeaderFlags.None, parsed.Flags);
        var payload = new byte[parsed.PayloadSize];
        ReceiveExactly(display, payload);
        return ((VhostUserGpuRequest)parsed.Request, payload);
    }

    private static void ReceiveExactly(UnixSocket socket, Span<byte> buffer)
    {
        Span<SafeFileHandle?> fds = new SafeFileHandle?[UnixSocket.MaxFds];
        while (!buffer.IsEmpty)
        {
            var read = socket.Receive(buffer, fds, out _);
            Assert.True(read > 0, "the display socket closed");
            buffer = buffer[read..];
        }
    }
}
