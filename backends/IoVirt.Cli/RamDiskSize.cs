using System.Globalization;

namespace IoVirt.Cli;

/// <summary>
/// Whether a RAM disk of a given size can work here: at least <see cref="Minimum"/> (a guest's
/// partition table and file system need room), whole sectors, and no more than the machine's
/// memory. More than the memory available now is allowed (pages are taken as written) with a
/// warning, as the disk may not fill.
/// </summary>
internal static class RamDiskSize
{
    public const ulong Minimum = 1 << 20;

    /// <summary>Why <paramref name="bytes"/> cannot be a RAM disk here, or empty; <paramref name="warning"/> when it may not fit.</summary>
    public static string Check(ulong bytes, out string? warning)
    {
        warning = null;
        if (bytes < Minimum || bytes % 512 != 0)
        {
            return "a RAM disk is a whole number of 512-byte sectors, at least 1M";
        }

        var (total, available) = Memory();
        if (bytes > total)
        {
            return string.Create(CultureInfo.InvariantCulture, $"a RAM disk of {bytes} bytes is more than this machine's memory ({total} bytes)");
        }

        if (bytes > available)
        {
            warning = string.Create(CultureInfo.InvariantCulture, $"a RAM disk of {bytes} bytes is more than the memory available now ({available} bytes); writes may fail once it runs out");
        }

        return string.Empty;
    }

    /// <summary>MemTotal and MemAvailable from /proc/meminfo, in bytes.</summary>
    private static (ulong Total, ulong Available) Memory()
    {
        ulong total = ulong.MaxValue, available = ulong.MaxValue;
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && ulong.TryParse(parts[1], CultureInfo.InvariantCulture, out var kib))
            {
                if (parts[0] == "MemTotal:")
                {
                    total = kib * 1024;
                }
                else if (parts[0] == "MemAvailable:")
                {
                    available = kib * 1024;
                }
            }
        }

        return (total, available);
    }
}
