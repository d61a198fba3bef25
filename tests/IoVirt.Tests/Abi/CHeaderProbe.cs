using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace IoVirt.Tests.Abi;

/// <summary>
/// Compiles Abi/abi_probe.c with gcc against the installed Linux uapi headers, runs it once, and
/// keeps the sizes, offsets and constants it prints. Without gcc or the headers every cross-check
/// fails with the reason; nothing is skipped (CI installs gcc and linux-libc-dev).
/// </summary>
public sealed class CHeaderProbe : IDisposable
{
    private const string SourceName = "abi_probe.c";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly Dictionary<string, ulong>? _values;
    private readonly string? _failure;
    private readonly DirectoryInfo _workDir;

    public CHeaderProbe()
    {
        _workDir = Directory.CreateTempSubdirectory("iovirt-abi-probe-");
        try
        {
            _values = CompileAndRun(_workDir.FullName);
        }
        catch (Exception ex) when (ex is ProbeException or Win32Exception or IOException)
        {
            _failure = ex.Message;
        }
    }

    /// <summary>LINUX_VERSION_CODE of the headers the probe was built against, for messages.</summary>
    public string HeaderVersion
    {
        get
        {
            var code = Value("LINUX_VERSION_CODE");
            return string.Create(CultureInfo.InvariantCulture, $"{code >> 16}.{(code >> 8) & 0xff}.{code & 0xff}");
        }
    }

    /// <summary>The value the probe printed under <paramref name="key"/>; fails the test when it printed none.</summary>
    public ulong Value(string key)
    {
        if (!Values.TryGetValue(key, out var value))
        {
            Assert.Fail($"The C probe printed no '{key}'. Is it missing from abi_probe.c, or from the installed headers?");
        }

        return value;
    }

    /// <summary>Looks up a key that only newer headers define.</summary>
    public bool TryGetValue(string key, out ulong value) => Values.TryGetValue(key, out value);

    public void Dispose()
    {
        try
        {
            _workDir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }

    private Dictionary<string, ulong> Values
    {
        get
        {
            if (_values is null)
            {
                Assert.Fail("The ABI cross-check against the Linux headers could not run: " + _failure);
            }

            return _values;
        }
    }

    private static Dictionary<string, ulong> CompileAndRun(string workDir)
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Abi", SourceName);
        if (!File.Exists(source))
        {
            throw new ProbeException($"{source} was not copied to the test output.");
        }

        var copy = Path.Combine(workDir, SourceName);
        File.Copy(source, copy);
        var binary = Path.Combine(workDir, "abi_probe");

        var (compileExit, _, compileErrors) = Run("gcc", ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o", binary, copy], workDir);
        if (compileExit != 0)
        {
            throw new ProbeException(
                "gcc could not build the probe against <linux/virtio_*.h> and <linux/vhost_types.h> " +
                "(install gcc and linux-libc-dev):" + Environment.NewLine + compileErrors);
        }

        var (runExit, output, runErrors) = Run(binary, [], workDir);
        if (runExit != 0)
        {
            throw new ProbeException($"the probe exited with {runExit}: {runErrors}");
        }

        return Parse(output);
    }

    private static (int ExitCode, string Output, string Errors) Run(string program, string[] arguments, string workDir)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new ProbeException($"{program} did not start.");
        }
        catch (Win32Exception ex)
        {
            throw new ProbeException($"{program} could not be started ({ex.Message}); the cross-check needs gcc and linux-libc-dev.");
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new ProbeException($"{program} did not finish within {Timeout}.");
            }

            return (process.ExitCode, output, errors.GetAwaiter().GetResult());
        }
    }

    private static Dictionary<string, ulong> Parse(string output)
    {
        var values = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length != 2 || !ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                throw new ProbeException($"the probe printed a malformed line: '{line}'");
            }

            values.Add(parts[0], value);
        }

        return values;
    }

    private sealed class ProbeException(string message) : Exception(message);
}

/// <summary>Shares one <see cref="CHeaderProbe"/> (one gcc run) among all ABI test classes.</summary>
[CollectionDefinition(Name)]
public sealed class CHeaderCollection : ICollectionFixture<CHeaderProbe>
{
    public const string Name = "C headers";
}
