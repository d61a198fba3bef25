using System.Diagnostics;

namespace IoVirt.Testing;

/// <summary>
/// Runs the Debian test guest (tests/guest/run.sh) with a script and extra QEMU arguments. The
/// guest and QEMU come from tests/setup.sh, which the test command runs first; without them these
/// tests fail saying so. They never skip.
/// </summary>
public static class QemuGuest
{
    /// <summary>The repository's top folder (the one holding IoVirt.sln).</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "IoVirt.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("IoVirt.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>
    /// Boots the guest, runs <paramref name="script"/> in it and returns run.sh's exit code and
    /// everything it printed. With <paramref name="netNamespace"/>, QEMU runs inside that namespace
    /// (needed for <c>-netdev tap</c>; a vhost-user netdev is a Unix socket and works from anywhere).
    /// </summary>
    public static (int ExitCode, string Output) Run(string script, IEnumerable<string> qemuArgs, int timeoutSeconds = 120, NetNamespace? netNamespace = null)
    {
        RequireGuest();
        return Boot(script, qemuArgs, timeoutSeconds, netNamespace, []);
    }

    /// <summary>
    /// As <see cref="Run"/>, with the GPU guest (Debian's full kernel, which has virtio-gpu) in
    /// QEMU 10: 7.2 refuses vhost-user-gpu-pci under TCG (run.sh --gpu). The console also goes to
    /// <paramref name="consoleFile"/> while the guest runs, for a test that acts on the host when
    /// the guest reaches a certain point.
    /// </summary>
    public static (int ExitCode, string Output) RunGpu(string script, IEnumerable<string> qemuArgs, string consoleFile, int timeoutSeconds = 120)
    {
        RequireBuilt("build-gpu.sh", "GPU test guest");
        RequireBuilt("qemu-l1.sh", "QEMU 10 with its modules");
        return Boot(script, qemuArgs, timeoutSeconds, null, ["--gpu"], new Dictionary<string, string> { ["IOVIRT_CONSOLE"] = consoleFile });
    }

    private static (int ExitCode, string Output) Boot(string script, IEnumerable<string> qemuArgs, int timeoutSeconds, NetNamespace? netNamespace, string[] runOptions, IReadOnlyDictionary<string, string>? environment = null)
    {
        string[] command =
        [
            .. netNamespace?.ExecPrefix ?? [], "bash", Path.Combine(RepositoryRoot, "tests", "guest", "run.sh"),
            "--timeout", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--script", "{script}", .. runOptions, "--", .. qemuArgs,
        ];
        return RunScript(script, command, environment);
    }

    /// <summary>
    /// Writes <paramref name="script"/> to a temporary file, runs <paramref name="command"/> (with
    /// "{script}" standing for that file's path) to its end, and returns its exit code and output.
    /// </summary>
    internal static (int ExitCode, string Output) RunScript(string script, IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null)
    {
        var scriptFile = Path.GetTempFileName();
        File.WriteAllText(scriptFile, script.ReplaceLineEndings("\n"));
        try
        {
            var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in command.Skip(1))
            {
                info.ArgumentList.Add(arg == "{script}" ? scriptFile : arg);
            }

            foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            {
                info.Environment[name] = value;
            }

            using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {command[0]}");
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout + stderr.Result);
        }
        finally
        {
            File.Delete(scriptFile);
        }
    }

    /// <summary>
    /// QEMU arguments for a vhost-user-blk-pci disk served on <paramref name="socket"/>, with
    /// options appended to the disk's <c>-device</c> (e.g. <c>,num-queues=2</c>) or its
    /// <c>-chardev</c> (e.g. <c>,reconnect=1</c>).
    /// </summary>
    public static string[] VhostUserBlk(string socket, string deviceOptions = "", string chardevOptions = "") =>
        ["-chardev", $"socket,id=blk0,path={socket}{chardevOptions}", "-device", $"vhost-user-blk-pci,chardev=blk0{deviceOptions}"];

    /// <summary>
    /// QEMU arguments for a virtio-net-pci NIC on a vhost-user back end's <paramref name="socket"/>.
    /// vectors=0 turns MSI-X off: QEMU 7.2 under TCG crashes in vhost_net_start with it on. No
    /// option ROM: the guest boots with -kernel. More than one queue pair needs queues= on the
    /// netdev and mq=on on the device; <paramref name="deviceOptions"/> go at the end of the
    /// device's (e.g. <c>,packed=on</c>).
    /// </summary>
    public static string[] VhostUserNic(string socket, string mac, int queuePairs = 1, string deviceOptions = "") =>
    [
        "-chardev", $"socket,id=c0,path={socket}",
        "-netdev", queuePairs == 1 ? "vhost-user,id=n0,chardev=c0" : $"vhost-user,id=n0,chardev=c0,queues={queuePairs}",
        "-device", $"virtio-net-pci,netdev=n0,mac={mac},vectors=0,romfile=" + (queuePairs == 1 ? "" : ",mq=on") + deviceOptions,
    ];

    /// <summary>Checks that tests/setup.sh built the guest and it is current (tests/guest/build.sh --check); throws with its reason when not.</summary>
    private static void RequireGuest() => RequireBuilt("build.sh", "test guest");

    /// <summary>Fails, with the build script's own words, when tests/guest/<paramref name="script"/> --check says its image is missing or stale.</summary>
    internal static void RequireBuilt(string script, string what)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot, "tests", "guest", script));
        info.ArgumentList.Add("--check");
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {script}");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"no {what}: {stdout}{stderr.Result}");
        }
    }
}
