namespace IoVirt.Sandbox;

/// <summary>
/// Replaces the process's view of the file system (in its own mount namespace) with an empty,
/// read-only tmpfs that holds only the directories named: the runtime's and the program's
/// read-only, the socket directories writable (so the daemon can remove its sockets on exit).
/// /proc is not there: through /proc/1/root a root daemon would see the host again. The new
/// root is built on /tmp of this namespace; the directories are bound (each alone, without the
/// mounts below it) from descriptors opened before that tmpfs covers /tmp, so /tmp and the
/// directories under it work too.
/// </summary>
internal static unsafe class ConfinedRoot
{
    private const string Staging = "/tmp";

    public static void Enter(IReadOnlyCollection<string> readOnly, IReadOnlyCollection<string> writable)
    {
        var views = readOnly.Select(path => (Path: Canonical(path), Writable: false))
            .Concat(writable.Select(path => (Path: Canonical(path), Writable: true)))
            .GroupBy(view => view.Path)
            .Select(group => (Path: group.Key, Writable: group.Any(view => view.Writable)))
            .OrderBy(view => view.Path.Length)
            .ToList();
        var fds = new List<int>(views.Count);
        try
        {
            foreach (var view in views)
            {
                var fd = Native.Open(view.Path, Native.OPath | Native.ODirectory | Native.OCloexec);
                fds.Add(fd >= 0 ? fd : throw new SandboxException(Native.LastError($"open({view.Path})")));
            }

            SandboxNamespaces.Mount("iovirt-root", Staging, "tmpfs", Native.MsNosuid | Native.MsNodev | Native.MsNoexec, "mode=0755,size=1m");
            for (var i = 0; i < views.Count; i++)
            {
                var target = Staging + views[i].Path;
                MakeDirectories(target);
                // Not recursive: a directory at or above the staging point (a socket in /tmp) would
                // otherwise bring the staging tmpfs itself along instead of what lies under it.
                SandboxNamespaces.Mount($"/proc/self/fd/{fds[i]}", target, null, Native.MsBind);
                var access = views[i].Writable ? Native.MsNoexec : Native.MsRdonly;
                SandboxNamespaces.Mount(null, target, null, Native.MsRemount | Native.MsBind | Native.MsNosuid | Native.MsNodev | access);
            }
        }
        finally
        {
            fds.ForEach(fd => Native.Close(fd));
        }

        // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the new.
        Check(Native.ChangeDirectory(Staging), $"chdir({Staging})");
        fixed (byte* dot = ".\0"u8)
        {
            Check((int)Native.Syscall(Native.SysPivotRoot, (long)dot, (long)dot, 0, 0, 0), "pivot_root");
        }

        Check(Native.Unmount(".", Native.MntDetach), "umount of the old root");
        Check(Native.ChangeDirectory("/"), "chdir(/)");
        SandboxNamespaces.Mount(null, "/", null, Native.MsRemount | Native.MsBind | Native.MsRdonly | Native.MsNosuid | Native.MsNodev | Native.MsNoexec);
    }

    private static string Canonical(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        return full.Length == 0 ? "/" : full;
    }

    private static void MakeDirectories(string path)
    {
        var sofar = string.Empty;
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            sofar += "/" + part;
            if (Native.MakeDirectory(sofar, 0x1ED /* 0755 */) != 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Native.EEXIST)
            {
                throw new SandboxException(Native.LastError($"mkdir({sofar})"));
            }
        }
    }

    private static void Check(int result, string operation)
    {
        if (result != 0)
        {
            throw new SandboxException(Native.LastError(operation));
        }
    }
}
