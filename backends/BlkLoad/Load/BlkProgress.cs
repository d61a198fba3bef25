using System.Diagnostics;

namespace IoVirt.Backends.Blk.Load;

/// <summary>One second of a load run: when it ended (seconds since the start), its requests a second and their mean latency.</summary>
public readonly record struct BlkProgress(double Seconds, double Iops, double MeanLatencyMicroseconds);

/// <summary>Sums completions and hands a <see cref="BlkProgress"/> to its callback once a second; nothing allocated per request.</summary>
internal sealed class ProgressMeter(Action<BlkProgress> report, long start)
{
    private readonly long _start = start;
    private long _intervalStart = start;
    private long _completions;
    private long _latencyTicks;

    public void Completed(long latencyTicks)
    {
        _completions++;
        _latencyTicks += latencyTicks;
    }

    public void Tick(long now)
    {
        var elapsed = now - _intervalStart;
        if (elapsed < Stopwatch.Frequency)
        {
            return;
        }

        var seconds = elapsed / (double)Stopwatch.Frequency;
        var mean = _completions == 0 ? 0 : _latencyTicks * 1e6 / Stopwatch.Frequency / _completions;
        report(new BlkProgress((now - _start) / (double)Stopwatch.Frequency, _completions / seconds, mean));
        (_intervalStart, _completions, _latencyTicks) = (now, 0, 0);
    }
}
