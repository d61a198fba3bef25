namespace IoVirt.Sandbox;

/// <summary>What a seccomp filter does with one system call (by its x86-64 number).</summary>
public sealed record SyscallRule(string Name, uint Number, SyscallCheck Check)
{
    public static SyscallRule Allow(string name, uint number) => new(name, number, SyscallCheck.Allowed.Instance);
}

/// <summary>How a listed call is judged; a call not listed at all gets the filter's denial.</summary>
public abstract record SyscallCheck
{
    private SyscallCheck()
    {
    }

    /// <summary>Always allowed.</summary>
    public sealed record Allowed : SyscallCheck
    {
        public static readonly Allowed Instance = new();
    }

    /// <summary>Fails with <paramref name="Errno"/> without running: a caller that falls back then uses a call the filter can judge.</summary>
    public sealed record Refused(int Errno) : SyscallCheck;

    /// <summary>
    /// Allowed when the low 32 bits of argument <paramref name="Argument"/> are one of
    /// <paramref name="Values"/> (for arguments the kernel reads as 32-bit: pids, prctl options,
    /// ioctl requests), denied otherwise.
    /// </summary>
    public sealed record ArgumentIn(int Argument, IReadOnlyList<uint> Values) : SyscallCheck;

    /// <summary>Allowed when the low 32 bits of argument <paramref name="Argument"/> have none of the bits of <paramref name="Mask"/>, denied otherwise.</summary>
    public sealed record ArgumentWithout(int Argument, uint Mask) : SyscallCheck;
}
