namespace IoVirt.Sandbox;

/// <summary>The verdicts a seccomp filter returns (SECCOMP_RET_* of linux/seccomp.h).</summary>
public static class SeccompReturn
{
    /// <summary>The whole process dies of SIGSYS, as if by an uncaught signal.</summary>
    public const uint KillProcess = 0x80000000;

    /// <summary>The call goes ahead and the kernel logs it (an audit record of type SECCOMP).</summary>
    public const uint Log = 0x7ffc0000;

    public const uint Allow = 0x7fff0000;

    /// <summary>The call fails with <paramref name="errno"/> and does nothing.</summary>
    public static uint Errno(int errno) => 0x00050000u | ((uint)errno & 0xffff);
}
