using System.Diagnostics;

namespace IoVirt.Backends.Blk.Load;

/// <summary>One second of a load run: when it ended (seconds since the start), its requests a second and their mean latency.</summary>
public readonly record struct BlkProgress(double Seconds, double Iops, double MeanLatencyMicroseconds);

/// <summary>
/// Sums completions and hands a <see cref="BlkProgress"/> to its callback once a second, from
/// whichever queue's thread notices the second is over; nothing allocated per request.
/// </summary>
internal sealed class ProgressMeter(Action<BlkProgress> report, long start)
{
    private readonly long _start = start;
    private readonly Lock _reporting = new();
    private long _intervalStart = start;
    private long _completions;
    private long _latencyTicks;

    public void Completed(long latencyTicks)
    {
        Interlocked.Increment(ref _completions);
        Interlocked.Add(ref _latencyTicks, latencyTicks);
    }

    public void Tick(long now)
    {
        if (now - Volatile.Read(ref _intervalStart) < Stopwatch.Frequency)
        {
            return;
        }

        lock (_reporting)
        {
            // Another queue's thread may have reported this second meanwhile.
            var elapsed = now - _intervalStart;
            if (elapsed < Stopwatch.Frequency)
            {
                return;
            }

            var completions = Interlocked.Exchange(ref _completions, 0);
            var latencyTicks = Interlocked.Exchange(ref _latencyTicks, 0);
            var seconds = elapsed / (double)Stopwatch.Frequency;
            var mean = completions == 0 ? 0 : latencyTicks * 1e6 / Stopwatch.Frequency / completions;
            report(new BlkProgress((now - _start) / (double)Stopwatch.Frequency, completions / seconds, mean));
            Volatile.Write(ref _intervalStart, now);
        }
    }
}
