namespace IoVirt.Sandbox;

/// <summary>
/// Sets no_new_privs and installs a seccomp filter on every thread of the process at once
/// (SECCOMP_FILTER_FLAG_TSYNC, which carries no_new_privs along); threads started later
/// inherit both. Neither can be undone.
/// </summary>
public static unsafe class SeccompFilter
{
    public static void Install(ReadOnlySpan<BpfInstruction> program)
    {
        if (program.IsEmpty || program.Length > SeccompProgram.MaxInstructions)
        {
            throw new ArgumentException($"a filter has 1 to {SeccompProgram.MaxInstructions} instructions, not {program.Length}", nameof(program));
        }

        if (Native.Syscall(Native.SysPrctl, Native.PrSetNoNewPrivs, 1, 0, 0, 0) != 0)
        {
            throw new SandboxException(Native.LastError("prctl(PR_SET_NO_NEW_PRIVS)"));
        }

        fixed (BpfInstruction* instructions = program)
        {
            var fprog = new Native.SockFprog { Length = (ushort)program.Length, Filter = instructions };
            var result = Native.Syscall(Native.SysSeccomp, Native.SeccompSetModeFilter, Native.SeccompFilterFlagTsync, (long)&fprog, 0, 0);
            if (result != 0)
            {
                throw new SandboxException(result > 0
                    ? $"seccomp: thread {result} could not take the filter"
                    : Native.LastError("seccomp(SECCOMP_SET_MODE_FILTER)"));
            }
        }
    }
}
