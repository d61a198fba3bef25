using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;

namespace IoVirt.Testing;

/// <summary>
/// A network namespace a test makes for itself (<c>ip netns add</c>), with its loopback up. Bridges
/// and TAPs created in it are invisible to the host and to other tests, so fixed names such as
/// <c>br0</c> and <c>tap0</c> never collide; deleting the namespace removes all of them. Every
/// failing <c>ip</c> command throws with its stderr.
/// </summary>
public sealed class NetNamespace : IDisposable
{
    private bool _deleted;

    private NetNamespace(string name) => Name = name;

    /// <summary>The namespace's name, as <c>ip netns</c> knows it.</summary>
    public string Name { get; }

    /// <summary>Creates a namespace with a name no other test uses and brings its loopback up.</summary>
    public static NetNamespace Create()
    {
        // The process id tells which test run left a namespace behind; the random part keeps names unique.
        var name = $"iovirt-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        Ip("netns", "add", name);
        var created = new NetNamespace(name);
        try
        {
            created.IpIn("link", "set", "lo", "up");
            return created;
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <see cref="Create"/>, then <see cref="AddBridge"/>; the namespace is deleted again when the
    /// bridge cannot be made, so a test class's field can hold it without a constructor to clean up.
    /// </summary>
    public static NetNamespace WithBridge(string bridge, string addressWithPrefix)
    {
        var created = Create();
        try
        {
            created.AddBridge(bridge, addressWithPrefix);
            return created;
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    /// <summary>Adds bridge <paramref name="bridge"/> with IPv4 address <paramref name="addressWithPrefix"/> (e.g. 10.0.0.1/24) and brings it up.</summary>
    public void AddBridge(string bridge, string addressWithPrefix)
    {
        // STP stays off (the default), so an enslaved port forwards at once instead of after its learning delay.
        IpIn("link", "add", bridge, "type", "bridge");
        IpIn("addr", "add", addressWithPrefix, "dev", bridge);
        IpIn("link", "set", bridge, "up");
    }

    /// <summary>
    /// Waits until <paramref name="interfaceName"/> exists in the namespace (a TAP that QEMU or a
    /// daemon creates), then makes it a port of <paramref name="bridge"/> and brings it up.
    /// </summary>
    public void Enslave(string interfaceName, string bridge, int timeoutMs = 20_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (RunIp(["-n", Name, "link", "show", "dev", interfaceName]) is { ExitCode: not 0 } missing)
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException($"{interfaceName} did not appear in namespace {Name} within {timeoutMs} ms: {missing.Stderr}");
            }

            Thread.Sleep(50);
        }

        IpIn("link", "set", interfaceName, "master", bridge, "up");
    }

    /// <summary>
    /// Adds <paramref name="count"/> veth pairs, <c>PREFIXvN</c> a port of <paramref name="bridge"/> and
    /// <c>PREFIXpN</c> its peer, all up: stations behind the bridge, to each of which it floods
    /// every frame for an unknown destination.
    /// </summary>
    public void AddVethPairs(string bridge, string prefix, int count)
    {
        // One ip process for all of them: a few hundred would otherwise take seconds to start.
        var batch = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(batch, Enumerable.Range(0, count).SelectMany(i => new[]
            {
                $"link add {prefix}v{i} master {bridge} up type veth peer name {prefix}p{i}",
                $"link set {prefix}p{i} up",
            }));
            IpIn("-batch", batch);
        }
        finally
        {
            File.Delete(batch);
        }
    }

    /// <summary>Runs <paramref name="command"/> inside the namespace and returns its exit code and everything it printed.</summary>
    public (int ExitCode, string Output) Run(params string[] command)
    {
        var (exitCode, stdout, stderr) = RunIp(["netns", "exec", Name, .. command]);
        return (exitCode, stdout + stderr);
    }

    /// <summary>The arguments that run a program inside the namespace: <c>ip netns exec NAME</c>, then the program and its arguments.</summary>
    public string[] ExecPrefix => ["ip", "netns", "exec", Name];

    /// <summary>
    /// A TCP socket listening on <paramref name="port"/> on every IPv4 address of the namespace,
    /// so the test itself can be a peer of its guests without a helper program.
    /// </summary>
    public Socket ListenTcp(int port) => Inside(() =>
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Any, port));
            listener.Listen();
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    });

    /// <summary>
    /// Runs <paramref name="create"/> inside the namespace and returns what it made: a socket or a
    /// TAP belongs to the namespace its creating thread was in, and setns changes only the calling
    /// thread, so a thread of its own enters the namespace, makes the object and goes back.
    /// </summary>
    public T Inside<T>(Func<T> create)
    {
        T? made = default;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var home = File.OpenHandle("/proc/thread-self/ns/net");
                using var inside = File.OpenHandle(Path.Combine("/run/netns", Name));
                EnterNamespace(inside);
                try
                {
                    made = create();
                }
                finally
                {
                    EnterNamespace(home);
                }
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        thread.Join();
        failure?.Throw();
        return made!;
    }

    private static void EnterNamespace(Microsoft.Win32.SafeHandles.SafeFileHandle namespaceFile)
    {
        // nstype 0: the file itself says which kind of namespace it is.
        if (Tmds.Linux.LibC.setns((int)namespaceFile.DangerousGetHandle(), 0) != 0)
        {
            throw new Win32Exception(Tmds.Linux.LibC.errno, "setns");
        }
    }

    /// <summary>Deletes the namespace; its bridges go with it, and TAPs once their last user closes them.</summary>
    public void Dispose()
    {
        if (!_deleted)
        {
            _deleted = true;
            Ip("netns", "del", Name);
        }
    }

    private void IpIn(params string[] args) => Ip(["-n", Name, .. args]);

    private static void Ip(params string[] args)
    {
        var (exitCode, _, stderr) = RunIp(args);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed with status {exitCode}: {stderr.Trim()}");
        }
    }

    private static (int ExitCode, string Stdout, string Stderr) RunIp(string[] args)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start ip");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }
}
