using System.Diagnostics;
using System.Xml.Linq;
using IoVirt.Testing;

namespace IoVirt.Tests.Suite;

/// <summary>
/// tests/summarize.sh, the closing line of the test command, on real runs of `dotnet test`: a
/// throwaway xunit project whose second test crashes the test host from a background thread, as
/// an unhandled exception on a library thread would. The run must count as failed in the line
/// and in the exit status.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class TestRunSummaryTests : IDisposable
{
    private readonly string _project = Directory.CreateTempSubdirectory("iovirt-crash-").FullName;

    [Fact]
    public void A_run_whose_test_host_crashed_is_a_failure_in_the_summary_line_and_the_exit_status()
    {
        WriteProject("""
            public class Crashing
            {
                [Xunit.Fact] public void Passes() { }

                [Xunit.Fact]
                public void Crashes_the_host()
                {
                    new System.Threading.Thread(() => throw new System.InvalidOperationException("injected crash")).Start();
                    System.Threading.Thread.Sleep(10_000);
                }
            }
            """);

        var (summary, errors, exitCode) = Summarize();

        Assert.Equal(1, exitCode);
        Assert.Matches(@"^tests: \d+ passed, [1-9]\d* failed, \d+ skipped$", summary);
        Assert.Contains("aborted", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_that_passed_whole_is_a_pass()
    {
        WriteProject("""
            public class Passing
            {
                [Xunit.Fact] public void Passes() { }
            }
            """);

        var (summary, _, exitCode) = Summarize();

        Assert.Equal("tests: 1 passed, 0 failed, 0 skipped", summary);
        Assert.Equal(0, exitCode);
    }

    /// <summary>Runs `dotnet test` on the project, then summarize.sh on its output and exit status.</summary>
    private (string Summary, string Errors, int ExitCode) Summarize()
    {
        var log = Path.Combine(_project, "test.log");
        // As the test command does: both streams into the log (dotnet test reports an abort on stderr).
        var (testStatus, output, testErrors) = Run("dotnet", "test", _project, "-nologo");
        File.WriteAllText(log, output + testErrors);
        var (status, summary, errors) = Run("bash", Path.Combine(QemuGuest.RepositoryRoot, "tests", "summarize.sh"), log, testStatus.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return (summary.Trim(), errors, status);
    }

    /// <summary>An xunit project with the repository's pinned package versions and one source file.</summary>
    private void WriteProject(string source)
    {
        var versions = XDocument.Load(Path.Combine(QemuGuest.RepositoryRoot, "Directory.Packages.props"))
            .Descendants("PackageVersion")
            .ToDictionary(p => (string)p.Attribute("Include")!, p => (string)p.Attribute("Version")!);
        string[] packages = ["Microsoft.NET.Test.Sdk", "xunit", "xunit.runner.visualstudio"];
        var project = new XElement(
            "Project",
            new XAttribute("Sdk", "Microsoft.NET.Sdk"),
            new XElement("PropertyGroup", new XElement("TargetFramework", "net10.0"), new XElement("IsPackable", "false")),
            new XElement("ItemGroup", packages.Select(p => new XElement("PackageReference", new XAttribute("Include", p), new XAttribute("Version", versions[p])))));
        project.Save(Path.Combine(_project, "Crash.csproj"));
        File.WriteAllText(Path.Combine(_project, "Tests.cs"), source);
    }

    private static (int ExitCode, string Output, string Errors) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        args.ToList().ForEach(start.ArgumentList.Add);

        // The outer run's own test-host settings must not leak into the inner one.
        start.Environment.Remove("VSTEST_HOST_DEBUG");
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(4)), $"{program} did not finish");
        return (process.ExitCode, output, errors.Result);
    }

    public void Dispose() => Directory.Delete(_project, recursive: true);
}
