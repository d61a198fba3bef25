using System.Numerics;

namespace IoVirt.Backends.Blk.Load;

/// <summary>
/// Latencies in nanoseconds, counted in log-linear buckets: 32 per power of two, so a
/// percentile is known to within about 3% without storing samples. Recording never allocates.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 5;
    private const int SubBuckets = 1 << SubBucketBits;
    private readonly long[] _counts = new long[(64 - SubBucketBits + 1) * SubBuckets];

    public long Count { get; private set; }

    public long Max { get; private set; }

    public double Mean => Count == 0 ? 0 : (double)_sum / Count;

    private long _sum;

    public void Record(long nanoseconds)
    {
        var value = (ulong)Math.Max(nanoseconds, 0);
        _counts[Index(value)]++;
        Count++;
        _sum += (long)value;
        Max = Math.Max(Max, (long)value);
    }

    /// <summary>Adds another histogram's counts (several clients into one report).</summary>
    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        _sum += other._sum;
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>The latency below which <paramref name="percent"/>% of the samples fall (the bucket's upper edge).</summary>
    public long Percentile(double percent)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(percent / 100 * Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= Math.Max(rank, 1))
            {
                return Math.Min((long)UpperEdge(i), Max);
            }
        }

        return Max;
    }

    /// <summary>Values below 32 have a bucket each; above, [2^k, 2^(k+1)) splits into 32 buckets of width 2^(k-5).</summary>
    private static int Index(ulong value)
    {
        if (value < SubBuckets)
        {
            return (int)value;
        }

        var shift = BitOperations.Log2(value) - SubBucketBits;
        return ((shift + 1) * SubBuckets) + (int)(value >> shift) - SubBuckets;
    }

    private static ulong UpperEdge(int index)
    {
        if (index < SubBuckets)
        {
            return (ulong)index;
        }

        var shift = (index / SubBuckets) - 1;
        var mantissa = (ulong)(index % SubBuckets) + SubBuckets;
        return ((mantissa + 1) << shift) - 1;
    }
}
