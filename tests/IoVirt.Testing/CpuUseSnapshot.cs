namespace IoVirt.Testing;

/// <summary>
/// CPU time each process on the machine has used (user plus system, from /proc/PID/stat), so a
/// test that measures time shares can say which processes ran beside it when its figures are off.
/// </summary>
public sealed class CpuUseSnapshot
{
    /// <summary>/proc counts in USER_HZ ticks, which Linux fixes at 100 a second for user space.</summary>
    private const double MsPerTick = 10;

    private readonly Dictionary<int, (string Name, long Ticks)> _processes;

    private CpuUseSnapshot(Dictionary<int, (string Name, long Ticks)> processes) => _processes = processes;

    public static CpuUseSnapshot Take()
    {
        var processes = new Dictionary<int, (string Name, long Ticks)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue; // it exited while we looked
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the last ')'.
            var close = stat.LastIndexOf(')');
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            if (open < 0 || close < open)
            {
                continue;
            }

            var fields = stat[(close + 2)..].Split(' ');
            if (fields.Length > 12 && long.TryParse(fields[11], out var user) && long.TryParse(fields[12], out var system))
            {
                processes[pid] = (stat[(open + 1)..close], user + system);
            }
        }

        return new CpuUseSnapshot(processes);
    }

    /// <summary>The <paramref name="count"/> processes that used the most CPU since <paramref name="earlier"/>, as "name(pid) N ms".</summary>
    public string Busiest(CpuUseSnapshot earlier, int count = 5)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        var used = _processes
            .Select(p => (Pid: p.Key, p.Value.Name, Ticks: p.Value.Ticks - (earlier._processes.TryGetValue(p.Key, out var before) && before.Name == p.Value.Name ? before.Ticks : 0)))
            .Where(p => p.Ticks > 0)
            .OrderByDescending(p => p.Ticks)
            .Take(count);
        return string.Join(", ", used.Select(p => $"{p.Name}({p.Pid}) {p.Ticks * MsPerTick:F0} ms"));
    }
}
