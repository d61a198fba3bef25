using System.Diagnostics;

namespace IoVirt.Arbitration;

/// <summary>The machine's monotonic clock (Stopwatch).</summary>
public sealed class MonotonicClock : IArbiterClock
{
    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    public static MonotonicClock Instance { get; } = new();

    public long NowNanoseconds => (long)(Stopwatch.GetTimestamp() * NanosecondsPerTick);
}
