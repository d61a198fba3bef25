using IoVirt.Testing;
using IoVirt.Tests.Gpu;

namespace IoVirt.Tests.Integration;

/// <summary>
/// QEMU's vhost-user-gpu-pci with `iovirt gpu` behind it: Linux's virtio-gpu driver (Debian's full
/// kernel) probes our device, takes QEMU's window size (which our back end asks QEMU for, over
/// the vhost-user-gpu socket) as its frame buffer's, and the text it draws
/// on its console reaches our PNG snapshot through the whole path (driver, virtqueues, vhost-user,
/// our resources and transfers), and QEMU's own display through the vhost-user-gpu protocol (its
/// screendump). QEMU 10 (7.2 refuses vhost-user-gpu-pci under TCG).
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
        echo DRAWN
        sleep 3
        """;

    /// <summary>QEMU's window size (xres, yres), which is not the daemon's: the VMM owns the display, so the guest gets QEMU's.</summary>
    private const int Width = 1024, Height = 768;

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-qemu-gpu-").FullName;

    [Fact]
    public void The_guests_console_text_reaches_the_snapshot_and_qemus_display()
    {
        var socket = Path.Combine(_directory, "gpu.sock");
        var monitor = Path.Combine(_directory, "monitor.sock");
        var console = Path.Combine(_directory, "console.txt");
        var screendump = Path.Combine(_directory, "qemu.ppm");
        using var daemon = DaemonProcess.Start("gpu", "--socket", socket, "--width", "1280", "--height", "800", "--snapshot", _directory, "--sandbox", "none");
        daemon.WaitForSocket(socket);

        // Once the guest has drawn, QEMU's monitor dumps what QEMU's display shows.
        Exception? dumpFailed = null;
        var dumper = new Thread(() => dumpFailed = Record.Exception(() => DumpWhenDrawn(console, monitor, screendump)));
        dumper.Start();
        var (exit, output) = QemuGuest.RunGpu(
            DrawText,
            ["-chardev", $"socket,id=gpu0,path={socket}", "-device", $"vhost-user-gpu-pci,chardev=gpu0,xres={Width},yres={Height}", "-monitor", $"unix:{monitor},server,nowait"],
            console);
        Assert.True(exit == 0, output + daemon.Stderr);
        Assert.True(dumper.Join(30_000), "the screendump did not finish");
        Assert.Null(dumpFailed);
        Assert.Contains($"FB {Width},{Height}", output, StringComparison.Ordinal);

        var ours = PngImage.Read(File.ReadAllBytes(Path.Combine(_directory, "scanout-0.png")));
        Assert.Equal(((uint)Width, (uint)Height), (ours.Width, ours.Height));
        var qemu = Ppm(File.ReadAllBytes(screendump));
        Assert.Equal((Width, Height), (qemu.Width, qemu.Height));
        int lit = 0, litInQemu = 0, differ = 0;
        for (var y = 0; y < Height; y++)
        {
            for (var x = 0; x < Width; x++)
            {
                var pixel = ours.Pixel(x, y);
                var at = ((y * Width) + x) * 3;
                var shown = (qemu.Pixels[at], qemu.Pixels[at + 1], qemu.Pixels[at + 2]);
                lit += pixel == (0, 0, 0) ? 0 : 1;
                litInQemu += shown == (0, 0, 0) ? 0 : 1;
                differ += pixel == shown ? 0 : 1;
            }
        }

        // A tenth of the screen lit (a boot alone lights under 1%), and QEMU shows what we hold
        // but for the cursor's blink between the two pictures.
        Assert.True(lit > Width * Height / 10, $"{lit} lit pixels in the snapshot");
        Assert.True(litInQemu > Width * Height / 10, $"{litInQemu} lit pixels on QEMU's display");
        Assert.True(differ <= 8 * 16 * 2, $"{differ} pixels differ between the snapshot and QEMU's display");
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        Assert.Contains("\"errors\":0", daemon.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// 3D from a guest with no Mesa: /bin/virgl-clear (tests/guest/virgl-clear.c) uses the
    /// virtio-gpu DRM driver's ioctls to make a render target, submit a virgl CLEAR, copy the
    /// result back and check a pixel. QEMU passes VIRTIO_GPU_F_VIRGL through from our back end,
    /// which renders on llvmpipe in the default sandbox.
    /// </summary>
    [Fact]
    public void A_guest_clears_a_3d_render_target_through_virgl_and_reads_the_pixel_back()
    {
        var socket = Path.Combine(_directory, "gpu.sock");
        using var daemon = DaemonProcess.Start("gpu", "--socket", socket, "--virgl");
        daemon.WaitForSocket(socket);
        var (exit, output) = QemuGuest.RunGpu(
            "#!/bin/sh\n/bin/virgl-clear\n",
            ["-chardev", $"socket,id=gpu0,path={socket}", "-device", "vhost-user-gpu-pci,chardev=gpu0"],
            Path.Combine(_directory, "console.txt"));
        Assert.True(exit == 0, output + daemon.Stderr);
        Assert.Contains("VIRGL-CLEAR ok", output, StringComparison.Ordinal);
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        Assert.Contains("\"errors\":0", daemon.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Two QEMU guests at once on one `iovirt gpu --sockets`: each clears its own render target
    /// through its own GPU process, and the parent counts GPU turns and time for both.
    /// </summary>
    [Fact]
    public void Two_qemu_guests_clear_3d_render_targets_on_one_shared_gpu()
    {
        var sockets = new[] { "a", "b" }.Select(name => Path.Combine(_directory, $"{name}.sock")).ToArray();
        using var daemon = DaemonProcess.Start("gpu", "--virgl", "--sockets", string.Join(',', sockets), "--share", "equal");
        Array.ForEach(sockets, socket => daemon.WaitForSocket(socket));
        var guests = sockets.Select((socket, i) => Task.Run(() => QemuGuest.RunGpu(
            "#!/bin/sh\n/bin/virgl-clear\n",
            ["-chardev", $"socket,id=gpu0,path={socket}", "-device", "vhost-user-gpu-pci,chardev=gpu0"],
            Path.Combine(_directory, $"console-{i}.txt"),
            timeoutSeconds: 240))).ToArray();
        foreach (var (exit, output) in guests.Select(guest => guest.Result))
        {
            Assert.True(exit == 0, output + daemon.Stderr);
            Assert.Contains("VIRGL-CLEAR ok", output, StringComparison.Ordinal);
        }

        var report = daemon.StopAndReadReport().GetProperty("guests");
        Assert.Equal(sockets, report.EnumerateArray().Select(guest => guest.GetProperty("socket").GetString()));
        Assert.All(report.EnumerateArray(), guest =>
        {
            Assert.True(guest.GetProperty("turns").GetInt64() > 0, guest.ToString());
            Assert.True(guest.GetProperty("gpuMilliseconds").GetDouble() > 0, guest.ToString());
        });
    }

    private static void DumpWhenDrawn(string console, string monitor, string screendump)
    {
        var deadline = DateTime.UtcNow.AddSeconds(100);
        while (!(File.Exists(console) && File.ReadAllText(console).Contains("DRAWN", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the guest never drew");
            Thread.Sleep(100);
        }

        using var client = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        client.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(monitor));
        client.Send(System.Text.Encoding.ASCII.GetBytes($"screendump {screendump}\n"));
        while (!File.Exists(screendump) || new FileInfo(screendump).Length < (Width * Height * 3) + 15)
        {
            Assert.True(DateTime.UtcNow < deadline, "QEMU wrote no screendump");
            Thread.Sleep(100);
        }
    }

    /// <summary>A binary PPM (P6, maxval 255) as QEMU's screendump writes it.</summary>
    private static (int Width, int Height, byte[] Pixels) Ppm(byte[] file)
    {
        var fields = new List<string>();
        var at = 0;
        while (fields.Count < 4)
        {
            var start = at;
            while (!char.IsWhiteSpace((char)file[at]))
            {
                at++;
            }

            fields.Add(System.Text.Encoding.ASCII.GetString(file, start, at - start));
            at++;
        }

        Assert.Equal(["P6", "255"], [fields[0], fields[3]]);
        return (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture), file[at..]);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
