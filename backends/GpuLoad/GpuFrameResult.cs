using System.Globalization;

namespace IoVirt.Backends.Gpu.Load;

/// <summary>
/// What one run measured: frames shown in the measured time, and latencies in microseconds of
/// TRANSFER_TO_HOST_2D and RESOURCE_FLUSH (from adding to the ring to seeing the answer) and of
/// the whole frame (from the transfer's start to the display's update showing it).
/// </summary>
public sealed class GpuFrameResult(int frames, double seconds, double[] transferUs, double[] flushUs, double[] frameUs, long updateBytes)
{
    public int Frames { get; } = frames;

    public double Seconds { get; } = seconds;

    public double FramesPerSecond => Frames / Seconds;

    /// <summary>Pixel bytes the display received in the measured time.</summary>
    public long UpdateBytes { get; } = updateBytes;

    public double Transfer(double percentile) => Percentile(transferUs, percentile);

    public double Flush(double percentile) => Percentile(flushUs, percentile);

    public double Frame(double percentile) => Percentile(frameUs, percentile);

    public string ToJson() => string.Create(CultureInfo.InvariantCulture,
        $"{{\"frames\":{Frames},\"seconds\":{Seconds:F3},\"fps\":{FramesPerSecond:F1},\"updateBytes\":{UpdateBytes}," +
        $"\"transferUs\":{{\"p50\":{Transfer(50):F1},\"p99\":{Transfer(99):F1}}},\"flushUs\":{{\"p50\":{Flush(50):F1},\"p99\":{Flush(99):F1}}}," +
        $"\"frameUs\":{{\"p50\":{Frame(50):F1},\"p99\":{Frame(99):F1}}}}}");

    /// <summary>The nearest-rank percentile of sorted samples (zero without samples).</summary>
    private static double Percentile(double[] sorted, double percentile) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}
