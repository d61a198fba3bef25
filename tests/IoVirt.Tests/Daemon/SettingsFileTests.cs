using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// `--config FILE`: a daemon's whole setup in one JSON file of its options in camelCase, with
/// the command line winning over the file; anything else in the file is one clear usage error.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class SettingsFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-settings-").FullName;

    [Fact]
    public void A_blk_daemon_takes_its_settings_from_the_file_and_the_command_line_wins()
    {
        var socket = Path.Combine(_directory, "blk.sock");
        var file = Write("blk.json", $$"""
            // Comments and trailing commas are allowed, as in the mux's file.
            { "socket": "{{socket}}", "ram": "32M", "queues": 2, "serial": "from-file", "logFormat": "json", "readonly": true, }
            """);
        using var daemon = DaemonProcess.Start("blk", "--config", file, "--queues", "3");
        daemon.WaitForSocket(socket);
        var report = daemon.StopAndReadReport();
        Assert.Equal(3, report.GetProperty("queues").GetArrayLength());
        Assert.Contains("\"Message\":\"serving memory:iovirt-ramdisk: 33554432 bytes, 3 queue(s)", daemon.Stderr, StringComparison.Ordinal);
        Assert.Contains(", read-only", daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Net_and_rng_daemons_take_theirs_too()
    {
        var net = Path.Combine(_directory, "net.sock");
        var rng = Path.Combine(_directory, "rng.sock");
        using var netDaemon = DaemonProcess.Start("net", "--config", Write("net.json", $$"""{ "socket": "{{net}}", "mode": "sink", "mtu": 9000 }"""));
        using var rngDaemon = DaemonProcess.Start("rng", "--config", Write("rng.json", $$"""{ "socket": "{{rng}}", "logFormat": "json" }"""));
        netDaemon.WaitForSocket(net);
        rngDaemon.WaitForSocket(rng);
        Assert.Contains("MTU 9000", netDaemon.Stderr, StringComparison.Ordinal);
        rngDaemon.StopAndReadReport();
        Assert.StartsWith("{\"Timestamp\":", rngDaemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mux_file_holds_the_daemon_options_beside_its_disks()
    {
        var socket = Path.Combine(_directory, "vm1.sock");
        var file = Write("mux.json", $$"""
            { "ram": "64M", "capacityIops": 10000, "logFormat": "json", "logLevel": "information", "sandbox": "seccomp",
              "disks": [ { "name": "vm1", "socket": "{{socket}}", "size": "16M" } ] }
            """);
        using var daemon = DaemonProcess.Start("mux", "--config", file);
        daemon.WaitForSocket(socket);
        Assert.True(daemon.IsConfined, "the file's sandbox was not taken");
        daemon.StopAndReadReport();
        Assert.Contains("\"Category\":\"mux\"", daemon.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "socket": "/tmp/x.sock", "bogus": 1 }""", "\"bogus\" is not a setting of iovirt blk")]
    [InlineData("""{ "socket": "/tmp/x.sock", "readonly": "yes" }""", "\"readonly\" takes true or false, not \"yes\"")]
    [InlineData("""{ "socket": "/tmp/x.sock", "queues": [1] }""", "\"queues\" takes a string or a number, not [1]")]
    [InlineData("""{ "socket": "/tmp/x.sock", "queues": 99999 }""", "bad --queues '99999'")]
    [InlineData("""[ "socket" ]""", "the settings are a JSON object")]
    [InlineData("""{ "socket": """, "blk.json")]
    public void A_file_with_something_else_is_one_usage_error(string text, string expected)
    {
        using var daemon = DaemonProcess.Start("blk", "--config", Write("blk.json", text));
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains(expected, daemon.Stderr, StringComparison.Ordinal);
        Assert.Contains("Run 'iovirt blk --help' for the options.", daemon.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_a_usage_error_naming_it()
    {
        using var daemon = DaemonProcess.Start("rng", "--config", Path.Combine(_directory, "none.json"));
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains("none.json", daemon.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
