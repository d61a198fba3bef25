namespace IoVirt.Arbitration;

/// <summary>
/// What a disk request costs, in cost units: one unit is what a 4 KiB random read costs the
/// device, so tenants' reservations and limits on a disk are in IOPS of such reads. A fixed part
/// depends on direction and on whether the request continues where the tenant's last one ended,
/// plus a part per byte for the direction. From configuration, or fitted to measured device times
/// with <see cref="Fit"/>.
/// </summary>
public sealed record BlockCostModel(
    double ReadRandomBase,
    double ReadSequentialBase,
    double ReadPerByte,
    double WriteRandomBase,
    double WriteSequentialBase,
    double WritePerByte)
{
    /// <summary>The bytes of the reference request, a random read, that costs one unit.</summary>
    public const long UnitReadBytes = 4096;

    /// <summary>What a request of <paramref name="bytes"/> costs, in cost units.</summary>
    public double CostUnits(bool write, bool sequential, long bytes) => write
        ? (sequential ? WriteSequentialBase : WriteRandomBase) + (bytes * WritePerByte)
        : (sequential ? ReadSequentialBase : ReadRandomBase) + (bytes * ReadPerByte);

    /// <summary>
    /// Least-squares fit of the model to measured device times: per direction, one per-byte
    /// slope shared by sequential and random requests, and one base for each; then scaled to cost
    /// units by the fitted time of a 4 KiB random read. Each of the four classes needs samples of
    /// at least two sizes.
    /// </summary>
    public static BlockCostModel Fit(IEnumerable<(bool Write, bool Sequential, long Bytes, double Nanoseconds)> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var list = samples.ToList();
        var (readRandom, readSequential, readSlope) = FitDirection(list.Where(s => !s.Write).ToList(), "read");
        var (writeRandom, writeSequential, writeSlope) = FitDirection(list.Where(s => s.Write).ToList(), "write");
        var nanosecondsPerUnit = readRandom + (readSlope * UnitReadBytes);
        if (!(nanosecondsPerUnit > 0))
        {
            throw new ArgumentException("The fitted 4 KiB random read takes no time; the samples cannot set the unit.", nameof(samples));
        }

        return new BlockCostModel(
            readRandom / nanosecondsPerUnit, readSequential / nanosecondsPerUnit, readSlope / nanosecondsPerUnit,
            writeRandom / nanosecondsPerUnit, writeSequential / nanosecondsPerUnit, writeSlope / nanosecondsPerUnit);
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
