using System.Net.Sockets;
using System.Text.RegularExpressions;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Interop;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// Socket activation as systemd does it, through systemd-socket-activate (Debian's systemd): the
/// daemon serves on the socket it is passed (LISTEN_FDS), tells NOTIFY_SOCKET it is ready, and
/// leaves the socket file to the manager. The unit templates in backends/systemd are what runs.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed partial class SocketActivationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-activation-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_blk_unit_templates_serve_io_on_the_passed_socket_and_leave_it_to_the_manager()
    {
        // The templates for instance "vm1", with their directories moved under this test's.
        var units = Path.Combine(QemuGuest.RepositoryRoot, "backends", "systemd");
        var listen = Instantiate(Setting(Path.Combine(units, "iovirt-blk@.socket"), "ListenStream"));
        var command = Instantiate(Setting(Path.Combine(units, "iovirt-blk@.service"), "ExecStart")).Split(' ');
        Assert.Equal("/usr/local/bin/iovirt", command[0].Replace(_directory, string.Empty, StringComparison.Ordinal));
        Assert.Equal("notify", Setting(Path.Combine(units, "iovirt-blk@.service"), "Type"));
        Directory.CreateDirectory(Path.GetDirectoryName(listen)!);
        var image = command[Array.IndexOf(command, "--image") + 1];
        Directory.CreateDirectory(Path.GetDirectoryName(image)!);
        using (var file = File.Create(image))
        {
            file.SetLength(64 << 20);
        }

        using var notify = NotifySocket();
        using var daemon = Activate(listen, command);

        // The first connection starts the daemon; it is served once the daemon runs.
        using (var client = BlkClient.Connect(listen))
        {
            Assert.Equal("READY=1", Notification(notify));
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Out, 8, 4096));
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Flush, 0, 0));
        }

        // The console logger writes from a queue of its own: wait for the line, then read it.
        daemon.WaitForSocket(listen);
        Assert.Contains($"listening on {listen} (a socket passed by the service manager)", daemon.Stderr, StringComparison.Ordinal);

        // A second front end after the first went away: the passed socket still listens.
        using (var again = BlkClient.Connect(listen))
        {
            Assert.Equal(VirtioBlkStatus.Ok, again.Execute(VirtioBlkRequestType.In, 8, 4096));
        }

        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        Assert.True(File.Exists(listen), "the daemon removed the socket file the manager owns");
        Assert.False(File.Exists(listen + ".lock"), "a passed socket needs no lock file");
    }

    [Theory]
    [InlineData("rng")]
    [InlineData("net")]
    public void The_rng_and_net_unit_templates_serve_on_the_passed_socket(string device)
    {
        var units = Path.Combine(QemuGuest.RepositoryRoot, "backends", "systemd");
        var listen = Instantiate(Setting(Path.Combine(units, $"iovirt-{device}@.socket"), "ListenStream"));
        var command = Instantiate(Setting(Path.Combine(units, $"iovirt-{device}@.service"), "ExecStart")).Split(' ');
        Assert.Equal("notify", Setting(Path.Combine(units, $"iovirt-{device}@.service"), "Type"));
        Assert.Equal(["/usr/local/bin/iovirt", device, "--socket", listen.Replace(_directory, string.Empty, StringComparison.Ordinal)], command[..4].Select(word => word.Replace(_directory, string.Empty, StringComparison.Ordinal)));
        Directory.CreateDirectory(Path.GetDirectoryName(listen)!);
        if (Array.IndexOf(command, "--config") is var at and > 0)
        {
            // The instance's settings file, with a port that needs no TAP.
            Directory.CreateDirectory(Path.GetDirectoryName(command[at + 1])!);
            File.WriteAllText(command[at + 1], """{ "mode": "echo", "mac": "52:54:00:00:00:01" }""");
        }

        using var notify = NotifySocket();
        using var daemon = Activate(listen, command);

        using (var frontend = IoVirt.VhostUser.VhostUserFrontend.Connect(listen))
        {
            Assert.Equal("READY=1", Notification(notify));
            Assert.NotEqual(0UL, frontend.GetFeatures() & IoVirt.Abi.Virtio.VirtioFeature.Bit(IoVirt.Abi.Virtio.VirtioFeature.Version1));
        }

        if (device == "rng")
        {
            Assert.Contains(RngFrontend.Fetch(listen, daemon), b => b != 0);
        }
        else
        {
            // The console logger writes from a queue of its own, so the line may come later.
            daemon.WaitForStderr("MAC 52:54:00:00:00:01");
        }

        daemon.WaitForSocket(listen);
        Assert.Contains($"listening on {listen} (a socket passed by the service manager)", daemon.Stderr, StringComparison.Ordinal);
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        Assert.True(File.Exists(listen), "the daemon removed the socket file the manager owns");
    }

    [Fact]
    public void A_passed_socket_that_no_device_is_served_on_is_refused_with_exit_2()
    {
        var passed = Path.Combine(_directory, "other.sock");
        using var daemon = DaemonProcess.StartActivated([passed], null, "rng", "--socket", Path.Combine(_directory, "rng.sock"));
        daemon.WaitForManagerSocket(passed);
        try
        {
            UnixSocket.Connect(passed).Dispose();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // The daemon may already have refused the socket and exited.
        }

        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains($"socket activation passed a socket on {passed}, which no --socket names", daemon.Stderr, StringComparison.Ordinal);
    }

    private string NotifyPath => Path.Combine(_directory, "notify");

    /// <summary>The service manager's end of NOTIFY_SOCKET, in this test's directory.</summary>
    private Socket NotifySocket()
    {
        var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { ReceiveTimeout = 20_000 };
        notify.Bind(new UnixDomainSocketEndPoint(NotifyPath));
        return notify;
    }

    /// <summary>Runs a template's command (without its program) as systemd would: <paramref name="listen"/> passed, <see cref="NotifyPath"/> told; returns once the socket is there.</summary>
    private DaemonProcess Activate(string listen, string[] command)
    {
        var daemon = DaemonProcess.StartActivated([listen], new Dictionary<string, string> { ["NOTIFY_SOCKET"] = NotifyPath }, command[1..]);
        daemon.WaitForManagerSocket(listen);
        return daemon;
    }

    /// <summary>The next message the daemon sent to NOTIFY_SOCKET.</summary>
    private static string Notification(Socket notify)
    {
        var message = new byte[64];
        return System.Text.Encoding.ASCII.GetString(message, 0, notify.Receive(message));
    }

    /// <summary>The value of <paramref name="key"/>= in a unit file.</summary>
    private static string Setting(string unit, string key) =>
        File.ReadLines(unit).Select(line => line.Trim()).Single(line => line.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..];

    /// <summary>A template's setting for instance vm1, its /run, /var/lib, /etc and /usr/local paths under this test's directory.</summary>
    private string Instantiate(string setting) =>
        AbsolutePath().Replace(setting.Replace("%i", "vm1", StringComparison.Ordinal), match => _directory + match.Value);

    [GeneratedRegex("(?<=^| )/(run|var|etc|usr)/[^ ]*")]
    private static partial Regex AbsolutePath();
}
