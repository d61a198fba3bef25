using System.Text.Json;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// `iovirt bench-gpu` against our GPU back end and QEMU's (/usr/lib/qemu/vhost-user-gpu): every
/// frame it counts reached the display whole, and a back end that is not there is one line.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class BenchGpuTests : IDisposable
{
    private const int Width = 64;
    private const int Height = 48;

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-bench-gpu-").FullName;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_frame_counted_reached_the_display_whole(bool qemu)
    {
        var socket = Path.Combine(_directory, "gpu.sock");
        using var backEnd = qemu ? DaemonProcess.StartPeer("/usr/lib/qemu/vhost-user-gpu", "--socket-path", socket) : DaemonProcess.Start("gpu", "--socket", socket);
        if (qemu)
        {
            backEnd.WaitForListening(socket);
        }
        else
        {
            backEnd.WaitForSocket(socket);
        }

        using var bench = DaemonProcess.Start("bench-gpu", "--socket", socket, "--width", $"{Width}", "--height", $"{Height}", "--runtime", "1", "--ramp", "0", "--json");
        Assert.True(bench.WaitForExit() == 0, bench.Stderr);
        var result = JsonDocument.Parse(bench.Stdout).RootElement;
        var frames = result.GetProperty("frames").GetInt64();
        Assert.True(frames > 10, bench.Stdout);
        Assert.Equal(frames * Width * Height * 4, result.GetProperty("updateBytes").GetInt64());
        var frame = result.GetProperty("frameUs");
        Assert.InRange(frame.GetProperty("p50").GetDouble(), 1, frame.GetProperty("p99").GetDouble());
    }

    [Fact]
    public void A_back_end_that_is_not_there_is_one_line_and_exit_1()
    {
        using var bench = DaemonProcess.Start("bench-gpu", "--socket", Path.Combine(_directory, "none.sock"), "--runtime", "1");
        Assert.Equal(1, bench.WaitForExit());
        Assert.StartsWith("iovirt bench-gpu: ", bench.Stderr, StringComparison.Ordinal);
        Assert.Single(bench.Stderr.Trim().Split('\n'));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
