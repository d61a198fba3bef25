using System.Text.Json;
using IoVirt.Abi.Net;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Tests.Net;
using static IoVirt.Testing.EthernetFrames;

namespace IoVirt.Tests.Daemon;

/// <summary>`iovirt net` as a process: the default echo, its counters on exit, and the errors it reports.</summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class NetDaemonTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-net-daemon-").FullName;

    private string Socket => Path.Combine(_directory, "net.sock");

    [Fact]
    public void With_no_port_it_echoes_frames_and_prints_its_counters_on_sigterm()
    {
        using var daemon = DaemonProcess.Start("net", "--socket", Socket);
        daemon.WaitForSocket(Socket);
        using (var memory = new GuestMemory(GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, VhostUserTestBed.MemorySize, "iovirt-net-daemon-test")))
        using (var driver = new NetDriver(Socket, memory, NetBed.DriverFeatures))
        {
            driver.PostReceiveBuffers(8);
            for (var i = 0; i < 5; i++)
            {
                var frame = Frame(PeerMac, DeviceMac, 100 + i);
                driver.Send(Header(), frame);
                var packet = driver.Receive(out _);
                Assert.NotNull(packet);
                Assert.Equal(frame.Length, packet.Length - VirtioNetHdr.Size);
                Assert.Equal(PeerMac, packet.AsSpan(VirtioNetHdr.Size + 6, 6).ToArray());
            }
        }

        Assert.Contains("serving echo, 1 queue pair(s), MAC 52:54:00:12:34:56, MTU 1500", daemon.Stderr, StringComparison.Ordinal);
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        var counters = JsonDocument.Parse(daemon.Stdout).RootElement;
        Assert.Equal(5, counters.GetProperty("txFrames").GetInt64());
        Assert.Equal(5, counters.GetProperty("rxFrames").GetInt64());
        Assert.Equal(5 * 102, counters.GetProperty("rxBytes").GetInt64());
        Assert.Equal(0, counters.GetProperty("txInvalid").GetInt64());
        Assert.False(File.Exists(Socket), "the socket file was left behind");
    }

    [Theory]
    [InlineData("--socket PATH or --fd N is required")]
    [InlineData("bad --mode 'tap'", "--socket", "x", "--mode", "tap")]
    [InlineData("bad --mode 'sink'", "--socket", "x", "--mode", "sink", "--tap", "t0")]
    [InlineData("bad --mode 'mirror'", "--socket", "x", "--mode", "mirror")]
    [InlineData("bad --mac '01:00:00:00:00:01'", "--socket", "x", "--mac", "01:00:00:00:00:01")]
    [InlineData("bad --mac '52:54:00:12:34'", "--socket", "x", "--mac", "52:54:00:12:34")]
    [InlineData("bad --mtu '67': a whole number from 68 to 65535", "--socket", "x", "--mtu", "67")]
    [InlineData("bad --queues '65': a whole number from 1 to 64", "--socket", "x", "--queues", "65")]
    public void Usage_errors_exit_with_2_and_say_what_is_wrong(string message, params string[] options)
    {
        using var daemon = DaemonProcess.Start(["net", .. options]);
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains(message, daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tap_name_linux_cannot_take_is_a_usage_error()
    {
        using var daemon = DaemonProcess.Start("net", "--socket", Socket, "--tap", "name-far-too-long-for-linux");
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains("bad --tap 'name-far-too-long-for-linux': an interface name of 1 to 15 printable characters", daemon.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
