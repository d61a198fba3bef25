namespace IoVirt.Tests.Abi;

/// <summary>Comparisons of IoVirt.Abi against what <see cref="CHeaderProbe"/> read from C.</summary>
internal static class CHeaderAssert
{
    /// <summary>
    /// Asserts that C's sizeof(struct <paramref name="cStruct"/>) is <paramref name="size"/> and each
    /// offsetof(struct, field) is the paired offset; all mismatches are reported together. A null
    /// size is for a struct whose tail we never touch and so do not declare (kvm_run).
    /// </summary>
    public static void Struct(CHeaderProbe probe, string cStruct, int? size, params (string CField, int Offset)[] fields)
    {
        var problems = new List<string>();
        if (size is { } ours && probe.Value($"sizeof:{cStruct}") is var cSize && cSize != (ulong)ours)
        {
            problems.Add($"sizeof is {cSize} in C, {ours} here");
        }

        foreach (var (cField, offset) in fields)
        {
            var cOffset = probe.Value($"offsetof:{cStruct}.{cField}");
            if (cOffset != (ulong)offset)
            {
                problems.Add($"{cField} is at {cOffset} in C, {offset} here");
            }
        }

        Assert.True(problems.Count == 0, $"struct {cStruct} (Linux headers {probe.HeaderVersion}): {string.Join("; ", problems)}");
    }

    /// <summary>
    /// Asserts our value equals the spec's and, when the headers define <paramref name="cName"/>, the
    /// headers' too. Only constants newer than the oldest supported headers (Linux 6.1) may be absent.
    /// </summary>
    public static void Constant(CHeaderProbe probe, string cName, ulong ours, ulong spec, bool newerThanLinux61)
    {
        Assert.True(ours == spec, $"{cName}: ours is {ours}, the spec says {spec}");
        if (probe.TryGetValue(cName, out var c))
        {
            Assert.True(ours == c, $"{cName}: ours is {ours}, Linux headers {probe.HeaderVersion} say {c}");
        }
        else
        {
            Assert.True(newerThanLinux61, $"{cName} is missing from Linux headers {probe.HeaderVersion}, which should define it");
        }
    }
}
