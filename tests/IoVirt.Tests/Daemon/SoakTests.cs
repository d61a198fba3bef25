using System.Diagnostics;
using IoVirt.Testing;
using Xunit.Abstractions;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// bench/soak.sh for 75 s: one `iovirt mux` (4 disks, 2 nics, a TAP uplink) while verifying
/// bench-blk clients, clients killed with -9, malformed and silent front ends, testpmd and a QEMU
/// guest running fio verify come and go. The script fails unless the daemon lives, every read was
/// right, nothing is left in flight or waiting, and descriptors and RSS are back within bounds.
/// </summary>
[Collection(SoakCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class SoakTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_mux_lives_through_75_seconds_of_chaos_with_every_read_right_and_nothing_left_behind()
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(QemuGuest.RepositoryRoot, "bench", "soak.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = QemuGuest.RepositoryRoot,
        };
        start.Environment["SOAK_S"] = "75";
        start.Environment["IOVIRT"] = DaemonProcess.ProgramPath;
        using var soak = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        var errors = soak.StandardError.ReadToEndAsync(timeout.Token);
        var table = await soak.StandardOutput.ReadToEndAsync(timeout.Token);
        await soak.WaitForExitAsync(timeout.Token);
        var stderr = await errors;
        output.WriteLine(table + stderr);

        Assert.True(soak.ExitCode == 0, table + stderr);
        Assert.Matches(@"bytes verified [1-9][\d,]*;", table);
        Assert.Matches(@"malformed +[1-9]", table);
        Assert.Matches(@"kill +[1-9]", table);
        Assert.Matches(@"qemu +[1-9]", table);
    }
}

/// <summary>The soak runs alone: it measures the daemon's descriptors and memory, and loads both cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SoakCollection
{
    public const string Name = "soak";
}
