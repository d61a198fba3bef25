using System.Globalization;

namespace IoVirt.Testing;

/// <summary>
/// Runs a script in the nested-KVM host (tests/guest/run-l1.sh): an L1 guest under TCG whose
/// /dev/kvm is real, with our native `iovirt` (no .NET runtime) in /payload and Debian's
/// kernel and the test initramfs as an L2 guest in /l2. tests/setup.sh builds it; without it
/// these tests fail saying so. They never skip.
/// </summary>
public static class NestedKvm
{
    /// <summary>Where backends/IoVirt.Cli/publish-aot.sh leaves the native `iovirt`, alone (tests/run.sh runs it after the build).</summary>
    public static string ProgramDirectory => Path.Combine(QemuGuest.RepositoryRoot, "backends", "IoVirt.Cli", "bin", "aot");

    /// <summary>
    /// Boots L1 with `iovirt` as its payload, and beside it each of <paramref name="hostPrograms"/>
    /// (paths on this machine; run-l1.sh brings the libraries they link), runs
    /// <paramref name="script"/> there, and returns the exit code and the console. L1 has one CPU
    /// unless <paramref name="l1Cpus"/> says otherwise (run-l1.sh says why).
    /// </summary>
    public static (int ExitCode, string Output) Run(string script, int timeoutSeconds = 300, IReadOnlyList<string>? hostPrograms = null, int l1Cpus = 1)
    {
        QemuGuest.RequireBuilt("build-l1.sh", "nested-KVM host");
        RequireCurrentProgram();

        var payload = ProgramDirectory;
        if (hostPrograms is { Count: > 0 })
        {
            payload = Directory.CreateTempSubdirectory("iovirt-l1-payload-").FullName;
            foreach (var program in hostPrograms.Prepend(Path.Combine(ProgramDirectory, "iovirt")))
            {
                File.Copy(program, Path.Combine(payload, Path.GetFileName(program)));
            }
        }

        try
        {
            return QemuGuest.RunScript(script,
            [
                "bash", Path.Combine(QemuGuest.RepositoryRoot, "tests", "guest", "run-l1.sh"),
                "--timeout", timeoutSeconds.ToString(CultureInfo.InvariantCulture), "--cpus", l1Cpus.ToString(CultureInfo.InvariantCulture),
                "--script", "{script}", "--payload", payload,
            ]);
        }
        finally
        {
            if (payload != ProgramDirectory)
            {
                Directory.Delete(payload, recursive: true);
            }
        }
    }

    /// <summary>
    /// Fails unless the native `iovirt` is there and at least as new as every IoVirt assembly built
    /// beside the tests, so a nested test never runs yesterday's program.
    /// </summary>
    private static void RequireCurrentProgram()
    {
        var program = new FileInfo(Path.Combine(ProgramDirectory, "iovirt"));
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        var built = new DirectoryInfo(Path.Combine(QemuGuest.RepositoryRoot, "backends", "IoVirt.Cli", "bin", configuration, "net10.0"));
        var newest = built.Exists
            ? built.EnumerateFiles("*.dll").Where(f => f.Name.StartsWith("IoVirt.", StringComparison.Ordinal) || f.Name == "iovirt.dll").Max(f => (DateTime?)f.LastWriteTimeUtc)
            : null;
        if (!program.Exists || program.LastWriteTimeUtc < newest)
        {
            var state = program.Exists ? "older than the build" : "missing";
            throw new InvalidOperationException($"the native iovirt in {ProgramDirectory} is {state}: run backends/IoVirt.Cli/publish-aot.sh (tests/run.sh does)");
        }
    }
}
