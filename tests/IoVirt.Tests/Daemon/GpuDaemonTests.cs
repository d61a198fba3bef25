using System.Buffers.Binary;
using System.Text.Json;
using IoVirt.Abi.Gpu;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Tests.Gpu;
using IoVirt.VhostUser;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// <c>iovirt gpu</c> as a process: a guest's picture reaches the VMM's display over the
/// vhost-user-gpu socket, confined in the default sandbox (which must let the display socket
/// through), and the PNG snapshot with --snapshot; the report counts the commands.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class GpuDaemonTests : IDisposable
{
    private const uint Width = 16;
    private const uint Height = 8;

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-gpu-").FullName;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_guests_picture_reaches_the_display_and_the_snapshot(bool snapshot)
    {
        var socket = Path.Combine(_directory, "gpu.sock");
        string[] arguments = snapshot ? ["gpu", "--socket", socket, "--snapshot", _directory, "--sandbox", "none"] : ["gpu", "--socket", socket];
        using var daemon = DaemonProcess.Start(arguments);
        daemon.WaitForSocket(socket);

        // While the guest is connected its resource is held (a disconnect resets the device).
        JsonElement report = default;
        var picture = GpuWire.Picture(Width, Height);
        var (scanout, shown) = GpuWire.ShowThrough(socket, Width, Height, picture, daemon.Stderr, whileConnected: () => report = daemon.SnapshotReport());
        Assert.Equal((Width, Height), (scanout.Width, scanout.Height));
        GpuWire.AssertShownAsX8R8G8B8(picture, shown);
        Assert.Equal((5, 0, Width * Height * 4), (report.GetProperty("commands").GetInt64(), report.GetProperty("errors").GetInt64(), report.GetProperty("resourceBytes").GetUInt64()));

        if (snapshot)
        {
            var png = File.ReadAllBytes(Path.Combine(_directory, "scanout-0.png"));
            Assert.Equal((Width, Height), (BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20))));
        }

        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        var last = JsonDocument.Parse(daemon.Stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(5, last.GetProperty("commands").GetInt64());
    }

    /// <summary>
    /// A guest's 3D in the default sandbox: the renderer starts before the sandbox hides the
    /// host's GL drivers, and renders confined.
    /// </summary>
    [Fact]
    public void With_virgl_a_confined_daemon_renders_a_guests_clear_and_reads_it_back()
    {
        const ulong scratch = VhostUserTestBed.MemoryBase + 0x8_0000;
        const ulong backing = VhostUserTestBed.MemoryBase + 0x10_0000;
        var socket = Path.Combine(_directory, "gpu.sock");
        using var daemon = DaemonProcess.Start("gpu", "--socket", socket, "--virgl");
        daemon.WaitForSocket(socket);

        using var memory = new GuestMemory(GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, 2 << 20));
        using var frontend = VhostUserFrontend.Connect(socket);
        Assert.NotEqual(0UL, frontend.GetFeatures() & (1UL << VirtioGpuFeature.Virgl));
        using var queue = FirstRing.Start(frontend, memory);

        var pixels = GpuWire.RenderClear(memory, queue, scratch, backing, Width, Height, (0.25f, 1, 0, 1));
        for (var i = 0; i < pixels.Length; i += 4)
        {
            Assert.InRange(pixels[i], (byte)0x3f, (byte)0x40);
            Assert.Equal([0xff, 0, 0xff], pixels.AsSpan(i + 1, 3).ToArray());
        }

        Assert.Equal((Width * Height * 4UL, 0L), (daemon.SnapshotReport().GetProperty("resourceBytes").GetUInt64(), daemon.SnapshotReport().GetProperty("errors").GetInt64()));
    }

    [Fact]
    public void Snapshots_need_an_unconfined_daemon_and_an_existing_directory()
    {
        using var confined = DaemonProcess.Start("gpu", "--socket", Path.Combine(_directory, "a.sock"), "--snapshot", _directory, "--sandbox", "seccomp");
        Assert.Equal(2, confined.WaitForExit());
        Assert.Contains($"--snapshot {_directory}: needs --sandbox none", confined.Stderr, StringComparison.Ordinal);

        using var missing = DaemonProcess.Start("gpu", "--socket", Path.Combine(_directory, "b.sock"), "--snapshot", "/nonexistent", "--sandbox", "none");
        Assert.Equal(2, missing.WaitForExit());
        Assert.Contains("--snapshot /nonexistent: no such directory", missing.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
