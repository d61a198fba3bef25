using IoVirt.Arbitration;
using IoVirt.Backends.Blk;

namespace IoVirt.Cli;

/// <summary>
/// A mux config's disk cost model, in 4 KiB random reads: a fixed part per request, random or
/// sequential, plus a part per KiB moved, for reads and for writes. Unset parts keep the default.
/// </summary>
internal sealed record MuxCosts
{
    private static readonly BlockCostModel Default = BlkArbitration.DefaultCosts;

    public double ReadRandom { get; set; } = Default.ReadRandomBase;

    public double ReadSequential { get; set; } = Default.ReadSequentialBase;

    public double ReadPerKiB { get; set; } = Default.ReadPerByte * 1024;

    public double WriteRandom { get; set; } = Default.WriteRandomBase;

    public double WriteSequential { get; set; } = Default.WriteSequentialBase;

    public double WritePerKiB { get; set; } = Default.WritePerByte * 1024;

    public BlockCostModel Model => new(ReadRandom, ReadSequential, ReadPerKiB / 1024, WriteRandom, WriteSequential, WritePerKiB / 1024);

    /// <summary>Every request costs something: the fixed parts are positive and the parts per KiB at least 0, all finite.</summary>
    public bool PricesEveryRequest
    {
        get
        {
            double[] bases = [ReadRandom, ReadSequential, WriteRandom, WriteSequential];
            double[] slopes = [ReadPerKiB, WritePerKiB];
            return bases.All(x => x is > 0 and < double.PositiveInfinity) && slopes.All(x => x is >= 0 and < double.PositiveInfinity);
        }
    }
}
