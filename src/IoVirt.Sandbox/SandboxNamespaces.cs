using System.Collections;
using System.Text;

namespace IoVirt.Sandbox;

/// <summary>
/// Puts the whole process in a mount namespace of its own, and a network namespace when asked.
/// Namespaces belong to threads, and unshare(2) moves only the calling one, while the .NET
/// runtime has started several before Main; so the calling thread unshares and then re-executes
/// the program in place (same pid, same arguments): execve ends the other threads, and the new
/// image starts wholly inside. The mounts are made private first, so nothing mounted later
/// reaches the host's namespace.
/// </summary>
public static unsafe class SandboxNamespaces
{
    /// <summary>Set across the execve to the mount namespace left behind, so the new image knows it is inside.</summary>
    public const string Variable = "IOVIRT_SANDBOX_NAMESPACES";

    /// <summary>Returns once the process runs in the namespaces; before that, does not return (it re-executes) or throws.</summary>
    public static void Enter(bool ownNetwork)
    {
        var current = MountNamespace();
        if (Environment.GetEnvironmentVariable(Variable) is { } left)
        {
            Environment.SetEnvironmentVariable(Variable, null);
            if (left != current)
            {
                return;
            }

            throw new SandboxException($"{Variable} is set, but the process is still in the mount namespace it names");
        }

        if (Native.Unshare(Native.CloneNewNs | (ownNetwork ? Native.CloneNewNet : 0)) != 0)
        {
            throw new SandboxException(System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Native.EPERM
                ? "a namespace sandbox needs root (CAP_SYS_ADMIN); use --sandbox seccomp or --sandbox none"
                : Native.LastError("unshare"));
        }

        Mount(null, "/", null, Native.MsRec | Native.MsPrivate);
        Execute(current);
    }

    /// <summary>The identity of the calling thread's mount namespace, as /proc names it.</summary>
    public static string MountNamespace()
    {
        var buffer = stackalloc byte[64];
        var length = Native.ReadLink("/proc/thread-self/ns/mnt", buffer, 64);
        return length > 0 ? Encoding.ASCII.GetString(buffer, (int)length) : throw new SandboxException(Native.LastError("readlink(/proc/thread-self/ns/mnt)"));
    }

    internal static void Mount(string? source, string target, string? type, nuint flags, string? data = null)
    {
        if (Native.Mount(source, target, type, flags, data) != 0)
        {
            throw new SandboxException(Native.LastError($"mount of {source ?? type ?? "(flags)"} on {target}"));
        }
    }

    /// <summary>
    /// Removes this runtime's diagnostics socket (dotnet-counters, dotnet-trace), named by pid and
    /// start time, which execve keeps: while the old file stands the new image cannot bind its own
    /// (and runs without one, silently), and the tools would find a dead socket.
    /// </summary>
    private static void RemoveDiagnosticsSocket()
    {
        foreach (var stale in Directory.EnumerateFiles(Path.GetTempPath(), $"dotnet-diagnostic-{Environment.ProcessId}-*-socket"))
        {
            File.Delete(stale);
        }
    }

    private static void Execute(string left)
    {
        // The exact argv this process started with (dotnet's own arguments included), and its environment plus the marker.
        var commandLine = File.ReadAllBytes("/proc/self/cmdline");
        var argv = new List<byte[]>();
        foreach (var range in commandLine.AsSpan().TrimEnd((byte)0).Split((byte)0))
        {
            argv.Add(commandLine[range]);
        }

        var environment = new List<byte[]>();
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            environment.Add(Encoding.UTF8.GetBytes($"{entry.Key}={entry.Value}"));
        }

        environment.Add(Encoding.UTF8.GetBytes($"{Variable}={left}"));
        RemoveDiagnosticsSocket();
        // The program's own path, not /proc/self/exe, so the process keeps its name (comm) in ps and logs.
        var program = Encoding.UTF8.GetBytes(Environment.ProcessPath + "\0");
        using var args = new NullTerminatedStrings(argv);
        using var envp = new NullTerminatedStrings(environment);
        fixed (byte* path = program)
        {
            _ = Native.Execute(path, args.Pointer, envp.Pointer);
        }

        throw new SandboxException(Native.LastError($"execve({Environment.ProcessPath})"));
    }
}
