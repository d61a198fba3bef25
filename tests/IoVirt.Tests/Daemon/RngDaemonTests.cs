using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

[Trait(Tier.Name, Tier.Integration)]
public class RngDaemonTests
{
    [Theory]
    [InlineData(15)] // SIGTERM
    [InlineData(2)]  // SIGINT
    public void The_daemon_serves_random_bytes_and_stops_cleanly_on_a_signal(int signal)
    {
        var directory = Directory.CreateTempSubdirectory("iovirt-daemon-").FullName;
        var socket = Path.Combine(directory, "rng.sock");
        using var daemon = DaemonProcess.Start("rng", "--socket", socket);
        daemon.WaitForSocket(socket);

        Assert.Contains(RngFrontend.Fetch(socket, daemon), b => b != 0);

        daemon.Signal(signal);
        Assert.Equal(0, daemon.WaitForExit());
        Assert.False(File.Exists(socket), "the socket file was left behind");
        Assert.Contains("front end connected", daemon.Stderr, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void Usage_errors_exit_with_2_and_say_what_is_wrong()
    {
        using var missing = DaemonProcess.Start("rng");
        Assert.Equal(2, missing.WaitForExit());
        Assert.Contains("--socket PATH or --fd N is required", missing.Stderr, StringComparison.Ordinal);

        using var unknown = DaemonProcess.Start("rng", "--socket", "/tmp/x", "--bogus");
        Assert.Equal(2, unknown.WaitForExit());
        Assert.Contains("Unrecognized command or argument '--bogus'", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_socket_path_that_cannot_be_bound_exits_with_1()
    {
        using var daemon = DaemonProcess.Start("rng", "--socket", "/nonexistent-dir/rng.sock");
        Assert.Equal(1, daemon.WaitForExit());
        Assert.Contains("cannot serve", daemon.Stderr, StringComparison.Ordinal);
    }
}
