using System.Diagnostics;
using System.Text.RegularExpressions;
using IoVirt.Testing;
using Xunit.Abstractions;

namespace IoVirt.Tests.Integration;

/// <summary>
/// The README's examples, run as a new user runs them: each shell block marked
/// <c>&lt;!-- example NAME: PATTERN --&gt;</c>, as written, from the repository's folder, after the
/// block marked <c>example prepare</c> (which builds the program and the guest). Each must exit 0
/// and print its pattern (the guest's console shows the device). Each runs in a network and a PID namespace
/// of its own, so the TAP the net example makes is the test's.
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed partial class ReadmeExampleTests(ITestOutputHelper output)
{
    public static TheoryData<string> Examples() => [.. ReadExamples().Keys.Where(name => name != "prepare")];

    [Theory]
    [MemberData(nameof(Examples))]
    public void The_readme_example_runs_as_written(string name)
    {
        var examples = ReadExamples();
        Run("prepare", examples["prepare"].Script, timeoutSeconds: 600);
        var (script, expected) = examples[name];
        var console = Run(name, script, timeoutSeconds: 240);
        Assert.Matches(expected!, console);
    }

    [Fact]
    public void The_config_example_in_mux_help_serves_as_written_on_an_image_made_as_it_says()
    {
        var help = Run("mux --help", $"{DaemonProcess.ProgramPath.Replace(".dll", string.Empty, StringComparison.Ordinal)} mux --help", timeoutSeconds: 60);
        var lines = help.Split('\n');
        var first = Array.FindIndex(lines, l => l.TrimEnd().EndsWith("for example", StringComparison.Ordinal)) + 1;
        var last = Array.FindIndex(lines, first, l => l == "  }");
        var config = string.Join('\n', lines[first..(last + 1)]);
        var made = HelpImage().Match(help);
        Assert.True(made.Success, "mux --help says how to make the image");

        var script = $"""
            {made.Value}
            cat > /tmp/mux-help-example.json <<'JSON'
            {config}
            JSON
            {DaemonProcess.ProgramPath.Replace(".dll", string.Empty, StringComparison.Ordinal)} mux --config /tmp/mux-help-example.json &
            until [ -S /tmp/vm1.sock ] && [ -S /tmp/vm1-net.sock ]; do kill -0 $! || exit 1; sleep 0.1; done
            kill $!; wait $!
            """;
        var served = Run("mux --help config", script, timeoutSeconds: 120);
        Assert.Contains("disk vm1 on /tmp/vm1.sock: 10737418240 bytes", served, StringComparison.Ordinal);
        Assert.Contains("nic vm1-net on /tmp/vm1-net.sock", served, StringComparison.Ordinal);
    }

    private string Run(string name, string script, int timeoutSeconds)
    {
        // A PID namespace of its own too: when the script ends, early or not, the kernel ends
        // every process it left (a daemon whose "kill $!" never ran would hold the output open).
        var start = new ProcessStartInfo("unshare", ["--net", "--pid", "--fork", "bash", "-ec", script])
        {
            WorkingDirectory = QemuGuest.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
        }

        process.WaitForExit();
        var all = stdout.Result + errors.Result;
        output.WriteLine($"== example {name}: exit {process.ExitCode}\n{all}");
        Assert.True(process.ExitCode == 0, $"example {name} exited with {process.ExitCode}:\n{all}");
        return all;
    }

    /// <summary>Every marked block of README.md by name: its script and the pattern its output must match (null for prepare).</summary>
    private static Dictionary<string, (string Script, string? Expected)> ReadExamples()
    {
        var readme = File.ReadAllText(Path.Combine(QemuGuest.RepositoryRoot, "README.md"));
        return Marked().Matches(readme).ToDictionary(
            m => m.Groups["name"].Value,
            m => (m.Groups["script"].Value, m.Groups["expect"].Success ? m.Groups["expect"].Value : null));
    }

    [GeneratedRegex(@"truncate -s \S+ /[^\s)]+")]
    private static partial Regex HelpImage();

    [GeneratedRegex(@"<!-- example (?<name>\w+)(: (?<expect>.*?))? -->\n```sh\n(?<script>.*?)```", RegexOptions.Singleline)]
    private static partial Regex Marked();
}
