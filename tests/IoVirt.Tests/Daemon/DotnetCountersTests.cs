using System.Text.Json;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// The meters are plain System.Diagnostics.Metrics, so .NET's own dotnet-counters (pinned in
/// .config/dotnet-tools.json) reads them from a running daemon in its default sandbox.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class DotnetCountersTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-counters-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Dotnet_counters_reads_a_sandboxed_blk_daemons_meters_while_a_front_end_drives_it()
    {
        var socket = Path.Combine(_directory, "blk.sock");
        using var daemon = DaemonProcess.Start("blk", "--socket", socket, "--ram", "64M");
        daemon.WaitForSocket(socket);
        Assert.True(daemon.IsConfined, "the daemon runs without its sandbox");

        using var bench = DaemonProcess.Start("bench-blk", "--socket", socket, "--runtime", "10", "--ramp", "0", "--rw", "randrw");
        var output = Path.Combine(_directory, "counters.json");
        Command.Run(
            "dotnet",
            "dotnet-counters", "collect", "--process-id", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--counters", "IoVirt.Backends.Blk,IoVirt.VhostUser", "--format", "json", "--output", output, "--duration", "00:00:00:04");
        Assert.Equal(0, bench.WaitForExit(30_000));

        var events = JsonDocument.Parse(File.ReadAllText(output)).RootElement.GetProperty("Events").EnumerateArray().ToList();
        double Largest(string provider, string name, string tags) => events
            .Where(e => e.GetProperty("provider").GetString() == provider
                && e.GetProperty("name").GetString()!.StartsWith(name + " ", StringComparison.Ordinal)
                && e.GetProperty("tags").GetString() == tags)
            .Select(e => e.GetProperty("value").GetDouble())
            .DefaultIfEmpty(-1)
            .Max();

        // Rates per second while bench-blk ran; the connection as a gauge.
        Assert.True(Largest("IoVirt.Backends.Blk", "iovirt.blk.requests", $"device={socket},op=read") > 0, string.Join('\n', events));
        Assert.True(Largest("IoVirt.Backends.Blk", "iovirt.blk.requests", $"device={socket},op=write") > 0, string.Join('\n', events));
        Assert.True(Largest("IoVirt.Backends.Blk", "iovirt.blk.latency", $"device={socket},op=read,Percentile=50") > 0, string.Join('\n', events));
        Assert.Equal(1, Largest("IoVirt.VhostUser", "iovirt.vhost_user.connected", $"socket={socket}"));
        Assert.Equal(0, daemon.StopAndReadReport().GetProperty("totals").GetProperty("errorsReported").GetInt64());
    }
}
