using IoVirt.Sandbox;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// The daemons' sandbox, seen from outside as an operator would check it: /proc/PID/status and
/// namespaces, the files in its view, a forbidden call, and that it still serves and cleans up.
/// The suite runs as root, where the namespace sandbox is the default.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed unsafe class SandboxDaemonTests : IDisposable
{
    private const int KilledBySigsys = 128 + 31;

    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-sandbox-").FullName;

    private string Socket => Path.Combine(_directory, "rng.sock");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void As_root_a_daemon_confines_itself_by_default_and_still_serves()
    {
        using var daemon = DaemonProcess.Start("rng", "--socket", Socket);
        daemon.WaitForSocket(Socket);

        Assert.Equal("2", daemon.Status("Seccomp"));
        Assert.Equal("1", daemon.Status("NoNewPrivs"));
        Assert.NotEqual(Namespace("self", "mnt"), Namespace(daemon.Id, "mnt"));
        Assert.NotEqual(Namespace("self", "net"), Namespace(daemon.Id, "net"));

        // Its root holds the runtime, the program and the socket's directory, and nothing else of the host.
        var root = $"/proc/{daemon.Id}/root";
        Assert.True(Directory.Exists(root + _directory), "the socket directory is not in view");
        Assert.True(File.Exists(root + DaemonProcess.ProgramPath), "the program is not in view");
        Assert.False(Directory.Exists(root + "/etc"), "/etc is in view");
        Assert.False(Directory.Exists(root + "/proc"), "/proc is in view");
        Assert.False(Directory.Exists(root + "/home") || Directory.Exists(root + "/root") || Directory.Exists(root + "/var"), "host directories are in view");
        Assert.Contains("seccomp allowlist of", daemon.Stderr, StringComparison.Ordinal);

        ServesThenStopsCleanly(daemon, Socket);
    }

    [Fact]
    public void A_confined_daemon_names_its_threads_as_an_unconfined_one_does()
    {
        // The sandbox has no /proc, through which the runtime names a thread it starts: the
        // session and queue threads showed as "dotnet" to ps, top and perf.
        using var daemon = DaemonProcess.Start("rng", "--socket", Socket);
        daemon.WaitForSocket(Socket);
        string[] names = [];
        RngFrontend.Fetch(Socket, daemon, () => names = ThreadNames(daemon.Id));
        Assert.Contains("vhost-user rng", names);
        Assert.Contains("rng-q0", names);
    }

    [Fact]
    public void A_socket_right_in_tmp_where_the_new_root_is_built_is_served_and_removed()
    {
        // /tmp is where the new root is staged: a recursive bind of it once brought the staging
        // tmpfs into view instead, and the socket, out of sight, was left behind on exit.
        var socket = $"/tmp/iovirt-sandbox-{Guid.NewGuid():N}.sock";
        using var daemon = DaemonProcess.Start("rng", "--socket", socket);
        daemon.WaitForSocket(socket);
        Assert.True(File.Exists($"/proc/{daemon.Id}/root{socket}"), "the socket is not in the daemon's view of /tmp");
        ServesThenStopsCleanly(daemon, socket);
    }

    [Fact]
    public void A_sandboxed_daemon_that_calls_execve_is_killed_by_SIGSYS()
    {
        using var daemon = DaemonProcess.StartWith(new Dictionary<string, string> { [ProcessSandbox.ProbeVariable] = "execve" }, "rng", "--socket", Socket);
        Assert.Equal(KilledBySigsys, daemon.WaitForExit());
        Assert.DoesNotContain("the probe's execve returned", daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void With_seccomp_log_a_forbidden_call_runs_and_the_daemon_goes_on_serving()
    {
        using var daemon = DaemonProcess.StartWith(
            new Dictionary<string, string> { [ProcessSandbox.ProbeVariable] = "execve" }, "rng", "--socket", Socket, "--seccomp", "log");
        daemon.WaitForSocket(Socket);
        Assert.True(daemon.IsConfined);
        Assert.Contains(RngFrontend.Fetch(Socket, daemon), b => b != 0);
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        Assert.Contains("the probe's execve returned", daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_daemon_given_a_user_runs_as_it_and_can_still_remove_its_socket()
    {
        // Sticky and open to all, as /tmp: the socket, handed to the user, is the user's to remove.
        var path = System.Text.Encoding.UTF8.GetBytes(_directory + "\0");
        fixed (byte* p = path)
        {
            Assert.Equal(0, Tmds.Linux.LibC.chmod(p, 0x3FF /* 01777 */));
        }

        using var daemon = DaemonProcess.Start("rng", "--socket", Socket, "--user", "nobody");
        daemon.WaitForSocket(Socket);

        Assert.Equal("65534\t65534\t65534\t65534", daemon.Status("Uid"));
        Assert.Equal("65534\t65534\t65534\t65534", daemon.Status("Gid"));
        Assert.Equal("0000000000000000", daemon.Status("CapEff"));
        Assert.True(daemon.IsConfined);
        ServesThenStopsCleanly(daemon, Socket);
    }

    [Fact]
    public void Seccomp_mode_filters_calls_in_the_host_namespaces_and_none_turns_the_sandbox_off()
    {
        using (var filtered = DaemonProcess.Start("rng", "--socket", Socket, "--sandbox", "seccomp"))
        {
            filtered.WaitForSocket(Socket);
            Assert.True(filtered.IsConfined);
            Assert.Equal(Namespace("self", "mnt"), Namespace(filtered.Id, "mnt"));
            filtered.Signal(15);
            Assert.Equal(0, filtered.WaitForExit());
        }

        using var open = DaemonProcess.Start("rng", "--socket", Socket, "--sandbox", "none");
        open.WaitForSocket(Socket);
        Assert.Equal("0", open.Status("Seccomp"));
        Assert.Equal("0", open.Status("NoNewPrivs"));
        open.Signal(15);
        Assert.Equal(0, open.WaitForExit());
    }

    [Theory]
    [InlineData(2, "bad --sandbox 'jail': namespace, seccomp or none", "--sandbox", "jail")]
    [InlineData(2, "bad --seccomp 'trap': kill or log", "--seccomp", "trap")]
    [InlineData(2, "--user needs a sandbox", "--sandbox", "none", "--user", "nobody")]
    [InlineData(1, "--user: no user 'no-such-user-iovirt'", "--user", "no-such-user-iovirt")]
    public void Sandbox_options_that_cannot_work_are_refused_with_a_reason(int exit, string said, params string[] options)
    {
        using var daemon = DaemonProcess.Start(["rng", "--socket", Socket, .. options]);
        Assert.Equal(exit, daemon.WaitForExit());
        Assert.Contains(said, daemon.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Socket), "a refused daemon left its socket");
    }

    /// <summary>The daemon hands out random bytes, then stops on SIGTERM with exit 0, its socket and lock removed.</summary>
    private static void ServesThenStopsCleanly(DaemonProcess daemon, string socket)
    {
        Assert.Contains(RngFrontend.Fetch(socket, daemon), b => b != 0);
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        Assert.False(File.Exists(socket) || File.Exists(socket + ".lock"), "the socket or its lock was left behind");
    }

    private static string[] ThreadNames(int process) =>
        [.. Directory.GetDirectories($"/proc/{process}/task").Select(task => File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'))];

    private static unsafe string Namespace(object process, string kind)
    {
        var buffer = stackalloc byte[64];
        var path = System.Text.Encoding.UTF8.GetBytes($"/proc/{process}/ns/{kind}\0");
        fixed (byte* p = path)
        {
            var length = (int)Tmds.Linux.LibC.readlink(p, buffer, 64);
            return length > 0 ? System.Text.Encoding.ASCII.GetString(buffer, length) : throw new InvalidOperationException($"no {kind} namespace for {process}");
        }
    }
}
