namespace IoVirt.Interop;

/// <summary>
/// Background threads whose name the kernel shows (ps -T, top -H, perf), inside the daemons'
/// namespace sandbox too. The runtime names a thread it starts from the starting thread, which
/// Linux allows only through /proc/self/task/TID/comm, and the sandbox has no /proc; a thread
/// that names itself goes through prctl(PR_SET_NAME), which needs no file (and the seccomp
/// allowlist lets through).
/// </summary>
public static class SelfNamedThread
{
    /// <summary>An unstarted background thread that names itself <paramref name="name"/> (cut to 15 bytes by the kernel) before it runs <paramref name="body"/>.</summary>
    public static Thread Create(string name, ThreadStart body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return new Thread(() =>
        {
            Thread.CurrentThread.Name = name;
            body();
        })
        { IsBackground = true };
    }
}
