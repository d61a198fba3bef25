using System.Diagnostics;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>The README shows each back end's --help text as the program prints it.</summary>
public class UsageInReadmeTests
{
    [Theory]
    [InlineData("blk")]
    [InlineData("bench-blk")]
    [InlineData("net")]
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
        Assert.StartsWith($"Usage: iovirt {command}", help, StringComparison.Ordinal);
        Assert.Contains(help, File.ReadAllText(ReadmePath()), StringComparison.Ordinal);
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
