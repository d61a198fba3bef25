using System.Text.Json;

namespace IoVirt.Testing;

/// <summary>
/// Live-migrates the test guest from one QEMU to another on this machine (tests/guest/migrate.py,
/// over run.sh), with the guest script tests/guest/migration-load.sh keeping its devices busy.
/// </summary>
public static class QemuMigration
{
    /// <summary>
    /// Boots the source with <paramref name="sourceArgs"/> and a destination waiting with
    /// <paramref name="destinationArgs"/>, migrates when the guest asks, and returns the exit
    /// status (the guest script's, on the destination; 3 when the migration failed or, with
    /// <paramref name="compareMemory"/>, the two sides' memories differed), everything printed,
    /// and QEMU's figures. With <paramref name="netNamespace"/> both QEMUs run in it.
    /// </summary>
    public static MigrationRun Run(IReadOnlyList<string> sourceArgs, IReadOnlyList<string> destinationArgs, bool compareMemory, NetNamespace? netNamespace = null, int timeoutSeconds = 180)
    {
        QemuGuest.RequireBuilt("build.sh", "test guest");
        var guest = Path.Combine(QemuGuest.RepositoryRoot, "tests", "guest");
        string[] command =
        [
            .. netNamespace?.ExecPrefix ?? [], "python3", Path.Combine(guest, "migrate.py"),
            "--script", "{script}", "--timeout", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--source", Join(sourceArgs), "--destination", Join(destinationArgs), .. compareMemory ? new[] { "--compare-memory" } : [],
        ];
        var (exit, output) = QemuGuest.RunScript(File.ReadAllText(Path.Combine(guest, "migration-load.sh")), command);
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("IOVIRT-MIGRATION ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("migrate.py printed no result:\n" + output);
        using var figures = JsonDocument.Parse(line["IOVIRT-MIGRATION ".Length..]);
        return new MigrationRun(exit, output, MigrationFigures.From(figures.RootElement));
    }

    // migrate.py splits each side's arguments at white space, which QEMU arguments here never hold.
    private static string Join(IReadOnlyList<string> args) =>
        args.Any(arg => arg.Any(char.IsWhiteSpace)) ? throw new ArgumentException("QEMU arguments with white space", nameof(args)) : string.Join(' ', args);
}

/// <summary>What a migration run gave: the exit status, everything printed and QEMU's figures.</summary>
public sealed record MigrationRun(int ExitCode, string Output, MigrationFigures Figures);

/// <summary>
/// QEMU's account of a migration (query-migrate on the source): its status, total time, downtime
/// and RAM sent, and when it was seen complete; with a memory comparison, how many 4 KiB pages of guest RAM differed between the
/// two sides (and the first of them); and why it failed, if it did.
/// </summary>
public sealed record MigrationFigures(string Status, long TotalMs, long DowntimeMs, long RamBytes, DateTimeOffset Completed, int? DifferingPages, IReadOnlyList<string> FirstDifferingPages, string? Error)
{
    internal static MigrationFigures From(JsonElement json)
    {
        long Number(string name) => json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : -1;
        return new MigrationFigures(
            json.GetProperty("status").GetString() ?? string.Empty,
            Number("totalMs"),
            Number("downtimeMs"),
            Number("ramBytes"),
            DateTimeOffset.FromUnixTimeMilliseconds(Math.Max(0, Number("completedUnixMs"))),
            json.TryGetProperty("differingPages", out var differing) ? differing.GetInt32() : null,
            json.TryGetProperty("firstDifferingPages", out var first) ? [.. first.EnumerateArray().Select(page => page.GetString() ?? string.Empty)] : [],
            json.TryGetProperty("error", out var error) ? error.GetString() : null);
    }
}
