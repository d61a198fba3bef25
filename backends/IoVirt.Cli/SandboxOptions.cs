using IoVirt.Sandbox;

namespace IoVirt.Cli;

/// <summary>The options every daemon takes for its sandbox (<see cref="ProcessSandbox"/>).</summary>
internal static class SandboxOptions
{
    /// <summary>The help lines, to sit in each daemon's option list (the first line's indent comes from there).</summary>
    public const string Help = """
        --sandbox MODE         namespace (default as root): once its sockets and files
                                 are open, a mount namespace with only the runtime and the
                                 socket directory in view, a network namespace of its own
                                 (unless it uses a TAP), no_new_privs and a seccomp
                                 allowlist of system calls; seccomp: no_new_privs and the
                                 allowlist only (no root needed); none (default otherwise)
          --user USER[:GROUP]    become USER once everything is open (needs root); the
                                 sockets are handed to USER, so it can remove them on exit
                                 where it may (its own or a sticky directory)
          --seccomp ACTION       a system call off the allowlist: kill (default; the
                                 process dies of SIGSYS) or log (it runs, the kernel logs it)
        """;

    public static readonly string[] ValueOptions = ["--sandbox", "--user", "--seccomp"];

    /// <summary>
    /// Reads the sandbox options and enters the policy's namespaces (re-executing the program, so
    /// call it before anything is opened). Null means go on with <paramref name="sandbox"/>;
    /// otherwise the daemon is done and the value is its exit code: 2 after a usage error, 1 when
    /// the namespaces cannot be entered (said on stderr as <paramref name="command"/>).
    /// </summary>
    public static int? Enter(CommandLine line, bool needsHostNetwork, string command, string usage, out DaemonSandbox sandbox)
    {
        sandbox = new DaemonSandbox(SandboxPolicy.Off, needsHostNetwork);
        if (Parse(line, out var error) is not { } policy)
        {
            return Program.UsageError(error, usage);
        }

        sandbox = new DaemonSandbox(policy, needsHostNetwork);
        try
        {
            ProcessSandbox.Prepare(policy, needsHostNetwork);
            return null;
        }
        catch (SandboxException e)
        {
            Console.Error.WriteLine($"{command}: cannot set up the sandbox: {e.Message}");
            return 1;
        }
    }

    /// <summary>The policy the options ask for; null with <paramref name="error"/> when they are malformed.</summary>
    private static SandboxPolicy? Parse(CommandLine line, out string error)
    {
        error = string.Empty;
        var mode = line.Value("--sandbox") switch
        {
            null => Tmds.Linux.LibC.geteuid() == 0 ? SandboxMode.Namespace : SandboxMode.None,
            "namespace" => SandboxMode.Namespace,
            "seccomp" => SandboxMode.Seccomp,
            "none" => SandboxMode.None,
            _ => (SandboxMode?)null,
        };
        if (mode is null)
        {
            error = $"bad --sandbox '{line.Value("--sandbox")}': namespace, seccomp or none";
            return null;
        }

        var denial = line.Value("--seccomp") switch
        {
            null or "kill" => SeccompDenial.Kill,
            "log" => SeccompDenial.Log,
            _ => (SeccompDenial?)null,
        };
        if (denial is null)
        {
            error = $"bad --seccomp '{line.Value("--seccomp")}': kill or log";
            return null;
        }

        var user = line.Value("--user");
        if (user is not null && mode == SandboxMode.None)
        {
            error = "--user needs a sandbox (--sandbox namespace or seccomp)";
            return null;
        }

        return new SandboxPolicy(mode.Value, user, denial.Value);
    }
}
