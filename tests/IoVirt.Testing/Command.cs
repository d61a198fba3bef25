using System.Diagnostics;

namespace IoVirt.Testing;

/// <summary>Runs a system command a test needs (mount, gcc, fusermount3, curl) and throws with its stderr when it fails.</summary>
public static class Command
{
    public static void Run(string program, params string[] args) => _ = Output(program, args);

    /// <summary>As <see cref="Run"/>, returning what the command printed on stdout.</summary>
    public static string Output(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {process.ExitCode}: {errors.Result}");
        }

        return output;
    }
}
