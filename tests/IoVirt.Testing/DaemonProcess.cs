using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace IoVirt.Testing;

/// <summary>The <c>iovirt</c> program run as a child process, with its output kept for assertions.</summary>
public sealed class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();

    private DaemonProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    /// <summary>What the program wrote to stdout (complete once it has exited).</summary>
    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Path of iovirt.dll, which the test project's build copies beside the tests.</summary>
    public static string ProgramPath => Path.Combine(AppContext.BaseDirectory, "iovirt.dll");

    public static DaemonProcess Start(params string[] args) => Launch(["dotnet", ProgramPath, .. args]);

    /// <summary>Starts the program with <paramref name="environment"/> added to this process's.</summary>
    public static DaemonProcess StartWith(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Launch(["dotnet", ProgramPath, .. args], environment);

    /// <summary>Runs <paramref name="wrapper"/>, a shell script that execs iovirt (as the vhost-user descriptors' binaries do), with <paramref name="args"/>.</summary>
    public static DaemonProcess StartWrapper(string wrapper, params string[] args) => Launch(["sh", wrapper, .. args]);

    /// <summary>Starts another program (a peer's back end) the way the daemons start.</summary>
    public static DaemonProcess StartPeer(string program, params string[] args) => Launch([program, .. args]);

    /// <summary>
    /// Starts the program inside <paramref name="netNamespace"/> (<c>ip netns exec</c>, which
    /// execs it in place, so <see cref="Id"/> and <see cref="Signal"/> reach the daemon itself).
    /// </summary>
    public static DaemonProcess StartIn(NetNamespace netNamespace, params string[] args) =>
        Launch([.. netNamespace.ExecPrefix, "dotnet", ProgramPath, .. args]);

    /// <summary>
    /// Starts the program as a service manager would on socket activation: systemd-socket-activate
    /// listens on <paramref name="listen"/> (Unix socket paths), and on the first connection execs
    /// the program in its place with the sockets as LISTEN_FDS, and <paramref name="environment"/>
    /// set (through -E: it drops some variables of its own, NOTIFY_SOCKET among them).
    /// </summary>
    public static DaemonProcess StartActivated(IReadOnlyList<string> listen, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Launch([
            "systemd-socket-activate",
            .. listen.SelectMany(path => new[] { "-l", path }),
            .. (environment ?? new Dictionary<string, string>()).SelectMany(pair => new[] { "-E", $"{pair.Key}={pair.Value}" }),
            "dotnet", ProgramPath, .. args]);

    /// <summary>
    /// Starts the program as a management layer starts a back end with <c>--fd N</c> (QEMU's
    /// back-end conventions): a socket listening on <paramref name="listen"/> as descriptor 3, and
    /// no LISTEN_FDS (systemd-socket-activate makes and passes the socket on the first
    /// connection; env drops its variables before iovirt runs).
    /// </summary>
    public static DaemonProcess StartWithPassedSocket(string listen, params string[] args) =>
        Launch(["systemd-socket-activate", "-l", listen, .. WithoutActivation, "dotnet", ProgramPath, .. args]);

    /// <summary>
    /// Starts the program as a management layer starts a back end with <c>--fd N</c> on a
    /// connection (libvirt gives one end of a socketpair): systemd-socket-activate --accept
    /// listens on <paramref name="listen"/> and, for each connection, runs the program with it
    /// as descriptor 3 (and no LISTEN_FDS), logging "Child PID died with code N" when it ends.
    /// </summary>
    public static DaemonProcess StartPerConnection(string listen, params string[] args) =>
        Launch(["systemd-socket-activate", "--accept", "-l", listen, .. WithoutActivation, "dotnet", ProgramPath, .. args]);

    /// <summary>Runs the rest of a command line without socket activation's variables (env drops them, then execs it).</summary>
    private static readonly string[] WithoutActivation = ["env", "-u", "LISTEN_FDS", "-u", "LISTEN_PID", "-u", "LISTEN_FDNAMES"];

    /// <summary>
    /// Runs <paramref name="command"/> with SIGINT and SIGQUIT at their defaults, as a service
    /// manager starts a daemon: a test suite started in the background by a shell without job
    /// control inherits them ignored, and .NET (rightly) keeps an inherited ignored SIGINT, so the
    /// daemons would not stop on it. env execs the command in its place (same pid).
    /// </summary>
    private static DaemonProcess Launch(string[] command, IReadOnlyDictionary<string, string>? environment = null)
    {
        command = ["env", "--default-signal=INT,QUIT", .. command];
        var info = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        foreach (var a in command.AsSpan(1))
        {
            info.ArgumentList.Add(a);
        }

        return new DaemonProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start " + string.Join(' ', command)));
    }

    /// <summary>
    /// Waits until systemd-socket-activate (<see cref="StartActivated"/>, <see cref="StartWithPassedSocket"/>)
    /// listens on <paramref name="path"/>: it logs that after listen(). The file alone is not
    /// enough, as it appears at bind(), and a connection before listen() is refused.
    /// </summary>
    public void WaitForManagerSocket(string path, int timeoutMs = 20_000) =>
        WaitWhileRunning(() => Stderr.Contains($"Listening on {path} as ", StringComparison.Ordinal), $"systemd-socket-activate did not listen on {path}", timeoutMs);

    /// <summary>
    /// Waits until some process listens on <paramref name="path"/>, for peers that log nothing:
    /// /proc/net/unix shows the socket with __SO_ACCEPTCON (flags 00010000) once listen() ran. A
    /// probing connection would not do: a one-connection back end ends when it closes.
    /// </summary>
    public void WaitForListening(string path, int timeoutMs = 20_000) =>
        WaitWhileRunning(
            () => File.ReadLines("/proc/net/unix").Any(line => line.EndsWith(" " + path, StringComparison.Ordinal) && line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3] == "00010000"),
            $"nothing listened on {path}",
            timeoutMs);

    /// <summary>Waits until <paramref name="text"/> is on stderr (the program's, or the launcher's that started it).</summary>
    public void WaitForStderr(string text, int timeoutMs = 20_000) =>
        WaitWhileRunning(() => Stderr.Contains(text, StringComparison.Ordinal), $"nothing said \"{text}\"", timeoutMs);

    /// <summary>Waits until the daemon listens on <paramref name="path"/> (it logs that after listen(), not just bind()).</summary>
    public void WaitForSocket(string path, int timeoutMs = 20_000) =>
        WaitWhileRunning(() => File.Exists(path) && Stderr.Contains($"listening on {path}", StringComparison.Ordinal), $"iovirt did not listen on {path}", timeoutMs);

    /// <summary>Polls <paramref name="ready"/> every 20 ms; throws <paramref name="failure"/> and the stderr so far when the process ends (and its output is read to the end) or the time runs out first.</summary>
    private void WaitWhileRunning(Func<bool> ready, string failure, int timeoutMs)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!ready())
        {
            if (_process.HasExited)
            {
                // The untimed wait returns once the output readers reached end of file.
                _process.WaitForExit();
                if (ready())
                {
                    return;
                }

                throw new InvalidOperationException($"{failure}: {Stderr}");
            }

            if (Environment.TickCount64 > deadline)
            {
                throw new InvalidOperationException($"{failure}: {Stderr}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>A field of /proc/PID/status (as "Seccomp", "NoNewPrivs", "Uid"), its value trimmed; null when absent.</summary>
    public string? Status(string field) => File.ReadLines($"/proc/{Id}/status")
        .Select(line => line.Split(':', 2))
        .Where(parts => parts.Length == 2 && parts[0] == field)
        .Select(parts => parts[1].Trim())
        .FirstOrDefault();

    /// <summary>True when the daemon runs under its seccomp filter with no_new_privs, as a sandboxed one does.</summary>
    public bool IsConfined => Status("Seccomp") == "2" && Status("NoNewPrivs") == "1";

    public void Signal(int signal) => _ = Tmds.Linux.LibC.kill(_process.Id, signal);

    /// <summary>Stops the daemon with SIGTERM and returns the report it printed on exit: one JSON line on stdout.</summary>
    public JsonElement StopAndReadReport()
    {
        Signal(15);
        var exit = WaitForExit();
        var lines = Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (exit != 0 || lines.Length == 0)
        {
            throw new InvalidOperationException($"iovirt exited with {exit} and {lines.Length} lines on stdout, not 0 and a report: {Stdout}{Stderr}");
        }

        // The report on exit is the last line (snapshots asked for with SIGUSR1 come before it).
        return JsonDocument.Parse(lines[^1]).RootElement.Clone();
    }

    /// <summary>Asks the running daemon for its report now (SIGUSR1) and returns it: the next JSON line on stdout.</summary>
    public JsonElement SnapshotReport(int timeoutMs = 10_000)
    {
        var before = Stdout.Length;
        Signal(10);
        var deadline = Environment.TickCount64 + timeoutMs;
        while (Stdout.Length == before || !Stdout.EndsWith('\n'))
        {
            if (_process.HasExited || Environment.TickCount64 > deadline)
            {
                throw new InvalidOperationException($"iovirt printed no report on SIGUSR1: {Stdout}{Stderr}");
            }

            Thread.Sleep(10);
        }

        return JsonDocument.Parse(Stdout[before..]).RootElement.Clone();
    }

    /// <summary>
    /// Asks for reports (SIGUSR1) every 100 ms until <paramref name="count"/>, read from one,
    /// reaches <paramref name="atLeast"/> or <paramref name="giveUp"/> says stop; false then.
    /// Tests use it to act once a guest's I/O is under way, which a message of the vhost-user
    /// handshake does not show: the firmware starts the rings long before the guest's kernel.
    /// </summary>
    public bool WaitForReport(Func<JsonElement, long> count, long atLeast, Func<bool> giveUp)
    {
        while (!giveUp())
        {
            if (count(SnapshotReport()) >= atLeast)
            {
                return true;
            }

            Thread.Sleep(100);
        }

        return false;
    }

    /// <summary>Waits for the process to end and returns its exit code; when it does not end in time, kills it and throws, saying where its threads waited.</summary>
    public int WaitForExit(int timeoutMs = 20_000)
    {
        if (!_process.WaitForExit(timeoutMs))
        {
            // A daemon that does not end is a defect: say where each of its threads waits.
            var threads = Threads();
            _process.Kill();
            _process.WaitForExit();
            throw new TimeoutException($"iovirt did not exit within {timeoutMs} ms; its threads:\n{threads}\nstderr:\n{Stderr}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Each thread's name, state and the kernel function it waits in (wchan), one line each.</summary>
    private string Threads()
    {
        try
        {
            return string.Join('\n', Directory.EnumerateDirectories($"/proc/{Id}/task").Select(task =>
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
                var name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                var wchan = File.ReadAllText(Path.Combine(task, "wchan"));
                return $"  {Path.GetFileName(task)} {name}: {state} in {wchan}";
            }));
        }
        catch (IOException e)
        {
            return $"  (unreadable: {e.Message})";
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
