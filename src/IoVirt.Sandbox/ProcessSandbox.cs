using Microsoft.Extensions.Logging;

namespace IoVirt.Sandbox;

/// <summary>
/// Confines a back-end process in two steps, as virtiofsd's and Firecracker's jailers do:
/// <see cref="Prepare"/> before anything is opened (the namespaces, entered by re-executing),
/// <see cref="Confine"/> once every socket, image and TAP is open (the new root, the user,
/// no_new_privs, the seccomp filter). From then on the process can use what it holds and
/// little else.
/// </summary>
public static class ProcessSandbox
{
    /// <summary>A test hook: after confinement, make the named forbidden call once (only "execve"), to show the filter acts.</summary>
    public const string ProbeVariable = "IOVIRT_SANDBOX_PROBE";

    /// <summary>
    /// Enters the namespaces of <paramref name="policy"/>; returns in the re-executed process (or
    /// at once without a namespace sandbox). A process with any <paramref name="network"/> access
    /// keeps the host's network.
    /// </summary>
    public static void Prepare(SandboxPolicy policy, NetworkAccess network)
    {
        ArgumentNullException.ThrowIfNull(policy);

        // A user that does not exist is refused before anything is opened.
        if (policy.User is { } user)
        {
            _ = UserIdentity.Resolve(user);
        }

        if (policy.Mode == SandboxMode.Namespace)
        {
            SandboxNamespaces.Enter(ownNetwork: network == NetworkAccess.None);
        }
    }

    /// <summary>
    /// Confines the process: the new root (namespace mode) with the runtime and <paramref name="socketDirectories"/>
    /// in view, <paramref name="ownedFiles"/> given to the new user before it is assumed, then the
    /// filter. <paramref name="network"/> is what <see cref="Prepare"/> was told. Throws
    /// <see cref="SandboxException"/> if any step fails: the caller must then not serve.
    /// </summary>
    public static void Confine(SandboxPolicy policy, NetworkAccess network, IReadOnlyCollection<string> socketDirectories, IReadOnlyCollection<string> ownedFiles, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(log);
        if (policy.Mode == SandboxMode.None)
        {
            return;
        }

        // Names are looked up while /etc is still in view.
        var user = policy.User is { } spec ? UserIdentity.Resolve(spec) : null;
        var who = user is null ? $"{CurrentUser()} (unchanged)" : $"{user.Name} ({user.Uid}:{user.Gid})";
        if (policy.Mode == SandboxMode.Namespace)
        {
            ConfinedRoot.Enter([AppContext.BaseDirectory, System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory()], socketDirectories);
        }

        if (user is not null)
        {
            foreach (var file in ownedFiles)
            {
                // Owned by the new user, the sockets can still be removed on exit (in a sticky or the user's directory).
                _ = Native.ChangeOwner(file, user.Uid, user.Gid);
            }

            user.Assume();
        }

        var rules = SyscallAllowlist.For(Environment.ProcessId, connects: network == NetworkAccess.Connects);
        var directories = socketDirectories.Distinct().Count();
        var denial = policy.Denial == SeccompDenial.Kill ? SeccompReturn.KillProcess : SeccompReturn.Log;
        SeccompFilter.Install(SeccompProgram.Compile(rules, denial));
        log.LogInformation(
            "sandbox: {View}, {Network}, user {User}, no_new_privs, seccomp allowlist of {Count} system calls (others {Denial})",
            policy.Mode == SandboxMode.Namespace ? $"a root of its own with {directories} socket director{(directories == 1 ? "y" : "ies")} and the runtime" : "the host's file system",
            policy.Mode == SandboxMode.Namespace && network == NetworkAccess.None ? "a network namespace of its own" : network == NetworkAccess.Connects ? "the host's network (connecting out)" : "the host's network",
            who,
            rules.Count,
            policy.Denial == SeccompDenial.Kill ? "kill the process" : "are logged");
        Probe(log);
    }

    private static unsafe void Probe(ILogger log)
    {
        if (Environment.GetEnvironmentVariable(ProbeVariable) != "execve")
        {
            return;
        }

        log.LogWarning("{Variable}=execve: calling execve, which the filter forbids", ProbeVariable);
        fixed (byte* path = "/nonexistent/iovirt-sandbox-probe\0"u8)
        {
            var argv = stackalloc byte*[] { path, null };
            _ = Native.Execute(path, argv, argv + 1);
        }

        log.LogWarning("the probe's execve returned ({Reason}); the filter only logs", Native.LastError("execve"));
    }

    /// <summary>The user's name, or uid where there is no passwd entry (a minimal initramfs has no /etc/passwd, and .NET throws then).</summary>
    private static string CurrentUser()
    {
        try
        {
            return Environment.UserName;
        }
        catch (IOException)
        {
            return $"uid {Native.GetUserId()}";
        }
    }
}
