namespace IoVirt.Sandbox;

/// <summary>How far a back end confines itself once its resources are open.</summary>
public enum SandboxMode
{
    /// <summary>Not at all.</summary>
    None,

    /// <summary>no_new_privs and the seccomp filter only (no root needed).</summary>
    Seccomp,

    /// <summary>Also its own mount namespace with only the runtime and its socket directories in view, and its own network namespace where it needs no TAP (needs root).</summary>
    Namespace,
}

/// <summary>What the seccomp filter does with a call not on the allowlist.</summary>
public enum SeccompDenial
{
    /// <summary>The process dies of SIGSYS (the kernel logs the call).</summary>
    Kill,

    /// <summary>The call runs and the kernel logs it: for learning what a new workload needs.</summary>
    Log,
}

/// <summary>A back end's sandbox: the mode, the user to become (null: stay who it is) and the filter's denial.</summary>
public sealed record SandboxPolicy(SandboxMode Mode, string? User, SeccompDenial Denial)
{
    public static readonly SandboxPolicy Off = new(SandboxMode.None, null, SeccompDenial.Kill);
}
