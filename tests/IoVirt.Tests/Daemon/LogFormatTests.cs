using System.Text.Json;
using IoVirt.Interop;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// --log-format json: every line a daemon writes to stderr is one JSON object, with the message's
/// named values as fields, and stdout still carries only the report.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class LogFormatTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-log-format-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Json_logs_are_one_object_per_line_with_the_named_values_as_fields()
    {
        var socket = Path.Combine(_directory, "rng.sock");
        using var daemon = DaemonProcess.Start("rng", "--socket", socket, "--log-format", "json", "--sandbox", "none");
        daemon.WaitForSocket(socket);
        UnixSocket.Connect(socket).Dispose();
        var report = daemon.StopAndReadReport();
        Assert.Equal(0, report.GetProperty("requests").GetInt64());

        var lines = daemon.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(lines);
        var events = lines.Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
        Assert.All(events, e => Assert.True(e.TryGetProperty("LogLevel", out _) && e.TryGetProperty("Timestamp", out _) && e.TryGetProperty("Message", out _), e.ToString()));
        var listening = Assert.Single(events, e => e.GetProperty("Message").GetString()!.Contains("listening on", StringComparison.Ordinal));
        Assert.Equal("Information", listening.GetProperty("LogLevel").GetString());
        Assert.Equal(socket, listening.GetProperty("State").GetProperty("Path").GetString());
        Assert.Equal("rng", listening.GetProperty("State").GetProperty("Device").GetString());
    }

    [Fact]
    public void An_unknown_log_format_is_a_usage_error()
    {
        using var daemon = DaemonProcess.Start("rng", "--socket", Path.Combine(_directory, "rng.sock"), "--log-format", "xml");
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains("text or json", daemon.Stderr, StringComparison.Ordinal);
    }
}
