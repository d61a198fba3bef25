namespace IoVirt.Arbitration;

/// <summary>
/// What a disk request costs in device time (nanoseconds): a fixed part that depends on
/// direction and on whether it continues where the tenant's last request ended, plus a part per
/// byte for the direction. From configuration, or fitted to measurements with <see cref="Fit"/>.
/// </summary>
public sealed record BlockCostModel(
    double ReadRandomBase,
    double ReadSequentialBase,
    double ReadPerByte,
    double WriteRandomBase,
    double WriteSequentialBase,
    double WritePerByte)
{
    public double Cost(bool write, bool sequential, long bytes) => write
        ? (sequential ? WriteSequentialBase : WriteRandomBase) + (bytes * WritePerByte)
        : (sequential ? ReadSequentialBase : ReadRandomBase) + (bytes * ReadPerByte);

    /// <summary>
    /// Least-squares fit of the model to measured device times: per direction, one per-byte
    /// slope shared by sequential and random requests, and one base for each. Each of the four
    /// classes needs samples of at least two sizes.
    /// </summary>
    public static BlockCostModel Fit(IEnumerable<(bool Write, bool Sequential, long Bytes, double Nanoseconds)> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var list = samples.ToList();
        var (readRandom, readSequential, readSlope) = FitDirection(list.Where(s => !s.Write).ToList(), "read");
        var (writeRandom, writeSequential, writeSlope) = FitDirection(list.Where(s => s.Write).ToList(), "write");
        return new BlockCostModel(readRandom, readSequential, readSlope, writeRandom, writeSequential, writeSlope);
    }

    /// <summary>y = a·[random] + b·[sequential] + c·bytes, solved through the normal equations.</summary>
    private static (double Random, double Sequential, double PerByte) FitDirection(
        List<(bool Write, bool Sequential, long Bytes, double Nanoseconds)> samples, string direction)
    {
        var random = samples.Where(s => !s.Sequential).ToList();
        var sequential = samples.Where(s => s.Sequential).ToList();
        if (random.Select(s => s.Bytes).Distinct().Count() < 2 || sequential.Select(s => s.Bytes).Distinct().Count() < 2)
        {
            throw new ArgumentException($"Fitting {direction} costs needs random and sequential samples of at least two sizes each.", nameof(samples));
        }

        // Centre each class on its own mean: the pooled slope is Σ(dx·dy) / Σ(dx²) over both classes.
        double numerator = 0, denominator = 0;
        foreach (var group in new[] { random, sequential })
        {
            var meanX = group.Average(s => (double)s.Bytes);
            var meanY = group.Average(s => s.Nanoseconds);
            foreach (var s in group)
            {
                numerator += (s.Bytes - meanX) * (s.Nanoseconds - meanY);
                denominator += (s.Bytes - meanX) * (s.Bytes - meanX);
            }
        }

        var slope = numerator / denominator;
        double Base(List<(bool, bool, long Bytes, double Nanoseconds)> group) => group.Average(s => s.Nanoseconds - (slope * s.Bytes));
        return (Base(random), Base(sequential), slope);
    }
}
