using System.Diagnostics;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>`iovirt bench-blk` as a person runs it: progress on a terminal, quiet in scripts, and sizes it cannot honour refused.</summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class BenchBlkTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-bench-blk-").FullName;
    private readonly DaemonProcess _daemon;

    public BenchBlkTests()
    {
        _daemon = DaemonProcess.Start("blk", "--socket", Socket, "--ram", "256M");
        _daemon.WaitForSocket(Socket);
    }

    private string Socket => Path.Combine(_directory, "blk.sock");

    [Fact]
    public void On_a_terminal_it_prints_a_line_a_second_and_with_json_or_a_pipe_it_stays_quiet()
    {
        // script(1) gives the program a pseudo-terminal, as a person's shell would.
        var onTerminal = Run("script", "-qec", $"dotnet {DaemonProcess.ProgramPath} bench-blk --socket {Socket} --runtime 3 --ramp 0", "/dev/null");
        Assert.Equal(0, onTerminal.ExitCode);
        Assert.Matches(@" +1 s: +[\d,]+ IOPS, mean latency [\d.]+ us", onTerminal.Output);
        Assert.Matches(@"(?m)^ +2 s: +[\d,]+ IOPS", onTerminal.Output);

        var piped = Run("dotnet", DaemonProcess.ProgramPath, "bench-blk", "--socket", Socket, "--runtime", "2", "--ramp", "0");
        Assert.Equal(0, piped.ExitCode);
        Assert.DoesNotContain(" s: ", piped.Output, StringComparison.Ordinal);

        var json = Run("script", "-qec", $"dotnet {DaemonProcess.ProgramPath} bench-blk --socket {Socket} --runtime 2 --ramp 0 --json", "/dev/null");
        Assert.Equal(0, json.ExitCode);
        Assert.DoesNotContain(" s: ", json.Output, StringComparison.Ordinal);
        Assert.Contains("\"iops\"", json.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_size_beyond_the_device_is_refused_not_quietly_shrunk()
    {
        using var bench = DaemonProcess.Start("bench-blk", "--socket", Socket, "--size", "1G", "--runtime", "1");
        Assert.Equal(1, bench.WaitForExit());
        Assert.Contains("the device has 268435456 bytes, fewer than the 1073741824 asked to be addressed", bench.Stderr, StringComparison.Ordinal);
    }

    private static (int ExitCode, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        args.ToList().ForEach(start.ArgumentList.Add);
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), $"{program} did not finish");
        return (process.ExitCode, output + errors.Result);
    }

    public void Dispose()
    {
        _daemon.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
