using System.Net.Sockets;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Interop;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// What a daemon does with the path it is told to listen on: it never destroys a file there,
/// never takes a socket another daemon or program serves, replaces a stale socket, and on exit
/// removes only the socket it made.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class SocketPathTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-socket-path-").FullName;

    private string Socket => Path.Combine(_directory, "dev.sock");

    public static TheoryData<string[]> Daemons() => new()
    {
        { ["blk", "--ram", "64M"] },
        { ["rng"] },
        { ["net", "--mode", "echo"] },
    };

    [Theory]
    [MemberData(nameof(Daemons))]
    public void A_file_at_the_socket_path_is_refused_with_exit_2_and_left_as_it_was(string[] daemon)
    {
        File.WriteAllText(Socket, "important\n");
        using var process = DaemonProcess.Start([.. daemon, "--socket", Socket]);
        Assert.Equal(2, process.WaitForExit());
        Assert.Contains($"{Socket} exists and is not a socket; refusing to replace it", process.Stderr, StringComparison.Ordinal);
        Assert.Equal("important\n", File.ReadAllText(Socket));
        Assert.False(File.Exists(Socket + ".lock"), "the refused daemon left its lock file");
    }

    [Fact]
    public void A_mux_whose_disk_socket_path_holds_a_file_is_refused_and_the_file_kept()
    {
        File.WriteAllText(Socket, "important\n");
        var config = Path.Combine(_directory, "mux.json");
        File.WriteAllText(config, $$"""{ "ram": "64M", "capacityIops": 1000, "disks": [ { "name": "d", "socket": "{{Socket}}", "size": "16M" } ] }""");
        using var process = DaemonProcess.Start("mux", "--config", config);
        Assert.Equal(2, process.WaitForExit());
        Assert.Equal("important\n", File.ReadAllText(Socket));
    }

    [Fact]
    public void A_second_daemon_on_a_served_socket_is_refused_naming_the_first_and_the_first_serves_on()
    {
        using var first = DaemonProcess.Start("blk", "--socket", Socket, "--ram", "64M");
        first.WaitForSocket(Socket);
        using (var second = DaemonProcess.Start("blk", "--socket", Socket, "--ram", "64M"))
        {
            Assert.Equal(1, second.WaitForExit());
            Assert.Contains($"{Socket} is being served by process {first.Id}", second.Stderr, StringComparison.Ordinal);
        }

        using (var client = BlkClient.Connect(Socket))
        {
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, 0, 4096));
        }

        first.Signal(15);
        Assert.Equal(0, first.WaitForExit());
        Assert.False(File.Exists(Socket), "the first daemon left its socket");
        Assert.False(File.Exists(Socket + ".lock"), "the first daemon left its lock file");
    }

    [Fact]
    public void A_socket_another_program_listens_on_is_refused()
    {
        using var other = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        other.Bind(new UnixDomainSocketEndPoint(Socket));
        other.Listen();
        using var daemon = DaemonProcess.Start("rng", "--socket", Socket);
        Assert.Equal(1, daemon.WaitForExit());
        Assert.Contains($"something is listening on {Socket} already", daemon.Stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Socket));
    }

    [Fact]
    public void The_stale_socket_and_lock_of_a_daemon_killed_with_sigkill_are_taken_over()
    {
        using (var killed = DaemonProcess.Start("rng", "--socket", Socket))
        {
            killed.WaitForSocket(Socket);
            killed.Signal(9);
            Assert.Equal(137, killed.WaitForExit());
        }

        Assert.True(File.Exists(Socket) && File.Exists(Socket + ".lock"), "a killed daemon leaves both behind");
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--ram", "64M");
        daemon.WaitForSocket(Socket);
        using var client = BlkClient.Connect(Socket);
        Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, 0, 512));
    }

    [Fact]
    public void On_exit_a_daemon_leaves_alone_a_file_that_replaced_its_socket()
    {
        using var daemon = DaemonProcess.Start("rng", "--socket", Socket);
        daemon.WaitForSocket(Socket);
        File.Move(Socket, Socket + ".moved");
        File.WriteAllText(Socket, "put here since\n");
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
        Assert.Equal("put here since\n", File.ReadAllText(Socket));
        Assert.Contains($"left {Socket}: it is no longer the socket this daemon made", daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_socket_file_appears_only_once_it_listens_so_a_script_may_connect_as_soon_as_it_sees_it()
    {
        for (var run = 0; run < 5; run++)
        {
            using var daemon = DaemonProcess.Start("rng", "--socket", Socket);
            while (!File.Exists(Socket))
            {
                Assert.False(daemon.HasExited, daemon.Stderr);
                Thread.Yield();
            }

            // Connecting at once must work: never ECONNREFUSED from a socket bound but not yet listening.
            UnixSocket.Connect(Socket).Dispose();
            Assert.False(File.Exists(Socket + ".new"), "the staging socket was left beside the path");
            daemon.Signal(15);
            Assert.Equal(0, daemon.WaitForExit());
        }
    }

    [Fact]
    public void A_service_manager_given_notify_socket_hears_ready_once_the_socket_listens()
    {
        var notifyPath = Path.Combine(_directory, "notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        notify.ReceiveTimeout = 20_000;
        using var daemon = DaemonProcess.StartWith(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notifyPath }, "rng", "--socket", Socket);
        var buffer = new byte[64];
        var n = notify.Receive(buffer);
        Assert.Equal("READY=1", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        UnixSocket.Connect(Socket).Dispose();
    }

    [Fact]
    public void Sigusr1_makes_blk_print_its_counters_per_queue_and_go_on()
    {
        using var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--ram", "64M", "--queues", "2");
        daemon.WaitForSocket(Socket);
        using (var client = BlkClient.Connect(Socket))
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Out, (ulong)i * 8, 4096));
            }

            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, 0, 4096));
        }

        var report = daemon.SnapshotReport();
        Assert.Equal(3, report.GetProperty("totals").GetProperty("writes").GetInt64());
        Assert.Equal(1, report.GetProperty("totals").GetProperty("reads").GetInt64());
        var queues = report.GetProperty("queues").EnumerateArray().ToArray();
        Assert.Equal(2, queues.Length);
        Assert.Equal(3, queues[0].GetProperty("writes").GetInt64());
        Assert.Equal(0, queues[1].GetProperty("writes").GetInt64());

        // Still serving after the signal, and the report on exit agrees.
        using (var client = BlkClient.Connect(Socket))
        {
            Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.Flush, 0, 0));
        }

        Assert.Equal(1, daemon.StopAndReadReport().GetProperty("totals").GetProperty("flushes").GetInt64());
    }

    [Fact]
    public void Sigusr1_makes_rng_print_its_counters_and_go_on()
    {
        using var daemon = DaemonProcess.Start("rng", "--socket", Socket);
        daemon.WaitForSocket(Socket);
        var report = daemon.SnapshotReport();
        Assert.Equal(0, report.GetProperty("requests").GetInt64());
        Assert.Equal(0, report.GetProperty("bytes").GetInt64());
        Assert.Equal(0, daemon.StopAndReadReport().GetProperty("requests").GetInt64());
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
