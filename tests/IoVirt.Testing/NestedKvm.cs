using System.Globalization;

namespace IoVirt.Testing;

/// <summary>
/// Runs a script in the nested-KVM host (tests/guest/run-l1.sh): an L1 guest under TCG whose
/// /dev/kvm is real, with the .NET runtime, our `iovirt` program in /payload and Debian's
/// kernel and the test initramfs as an L2 guest in /l2. tests/setup.sh builds it; without it
/// these tests fail saying so. They never skip.
/// </summary>
public static class NestedKvm
{
    /// <summary>Where `iovirt` was built beside the tests, in the same configuration.</summary>
    public static string ProgramDirectory
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
            return Path.Combine(QemuGuest.RepositoryRoot, "backends", "IoVirt.Cli", "bin", configuration, "net10.0");
        }
    }

    /// <summary>Boots L1 with `iovirt` as its payload, runs <paramref name="script"/> there, and returns the exit code and the console.</summary>
    public static (int ExitCode, string Output) Run(string script, int timeoutSeconds = 300)
    {
        QemuGuest.RequireBuilt("build-l1.sh", "nested-KVM host");

        return QemuGuest.RunScript(script,
        [
            "bash", Path.Combine(QemuGuest.RepositoryRoot, "tests", "guest", "run-l1.sh"),
            "--timeout", timeoutSeconds.ToString(CultureInfo.InvariantCulture), "--script", "{script}", "--payload", ProgramDirectory,
        ]);
    }
}
