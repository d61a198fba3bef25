namespace IoVirt.Fuzz;

/// <summary>Writes a target's seed corpus: one file per seed, PREFIX-0, PREFIX-1, ...</summary>
internal static class SeedFiles
{
    /// <summary>Creates <paramref name="directory"/> and writes <paramref name="seeds"/> into it; returns how many.</summary>
    public static int Write(string directory, string prefix, IEnumerable<byte[]> seeds)
    {
        Directory.CreateDirectory(directory);
        var count = 0;
        foreach (var seed in seeds)
        {
            File.WriteAllBytes(Path.Combine(directory, $"{prefix}-{count++}"), seed);
        }

        return count;
    }
}
