using System.Diagnostics;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>The README shows each back end's --help text as the program generates it, and the program alone prints its help.</summary>
[Trait(Tier.Name, Tier.Integration)]
public class UsageInReadmeTests
{
    [Theory]
    [InlineData("blk")]
    [InlineData("bench-blk")]
    [InlineData("bench-gpu")]
    [InlineData("net")]
    [InlineData("mux")]
    [InlineData("gpu")]
    public void The_readme_holds_the_commands_help_text(string command)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(DaemonProcess.ProgramPath);
        info.ArgumentList.Add(command);
        info.ArgumentList.Add("--help");
        using var process = Process.Start(info)!;
        var help = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(20_000));
        Assert.Equal(0, process.ExitCode);
        Assert.StartsWith("Description:", help, StringComparison.Ordinal);
        Assert.Contains($"Usage:\n  iovirt {command} [", help, StringComparison.Ordinal);
        Assert.Contains("\nOptions:\n", help, StringComparison.Ordinal);
        Assert.Contains(help.TrimEnd(), File.ReadAllText(ReadmePath()), StringComparison.Ordinal);
    }

    [Fact]
    public void The_program_alone_prints_its_help_with_every_command()
    {
        using var process = DaemonProcess.Start();
        Assert.Equal(0, process.WaitForExit());
        Assert.Contains("Usage:\n  iovirt [command] [options]", process.Stdout, StringComparison.Ordinal);
        Assert.All(["demo", "rng", "gpu", "blk", "net", "mux", "bench-blk", "bench-gpu"], command => Assert.Matches($"\n  {command} +[A-Z]", process.Stdout));
        Assert.Equal(string.Empty, process.Stderr);
    }

    [Fact]
    public void The_readmes_first_set_up_command_runs_the_demo_explicitly()
    {
        Assert.Contains("dotnet run -c Release --project backends/IoVirt.Cli -- demo\n", File.ReadAllText(ReadmePath()), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_code_fence_in_the_readme_stands_on_a_line_of_its_own_and_pairs_up()
    {
        var lines = File.ReadAllLines(ReadmePath());
        var fences = lines.Select((line, number) => (line, number: number + 1)).Where(l => l.line.Contains("```", StringComparison.Ordinal)).ToArray();
        Assert.All(fences, f => Assert.Matches(@"^```[a-z]*$", f.line));
        Assert.Equal(0, fences.Length % 2);

        // Opening fences name a language; closing ones are bare.
        for (var i = 0; i < fences.Length; i += 2)
        {
            Assert.True(fences[i].line.Length > 3, $"line {fences[i].number}: an opening fence without a language");
            Assert.True(fences[i + 1].line == "```", $"line {fences[i + 1].number}: a closing fence with text");
        }
    }

    private static string ReadmePath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "README.md");
            if (File.Exists(candidate) && File.Exists(Path.Combine(directory.FullName, "IoVirt.sln")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("README.md beside IoVirt.sln not found above the test directory");
    }
}
