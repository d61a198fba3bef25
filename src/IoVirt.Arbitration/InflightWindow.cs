namespace IoVirt.Arbitration;

/// <summary>
/// The closed loop that decides how many requests the device gets at once. Every round of
/// completions it compares the latency per cost unit with the baseline, the lowest of recent
/// rounds: while latency holds, a window that was used in full grows (the device had room: work
/// conservation); once latency exceeds the baseline by the tolerance, the device is queueing
/// internally and the window shrinks, so reserved requests meet a short device queue. Every
/// <see cref="ProbeEvery"/> rounds one round runs at half the window to measure the baseline
/// again, so a device that became slower (or faster) is followed and queueing cannot creep into
/// the baseline. It also estimates capacity, cost units per second while the window was full.
/// One thread; no allocation.
/// </summary>
public sealed class InflightWindow
{
    /// <summary>Rounds between probe rounds, and how many recent rounds the baseline is the minimum of.</summary>
    public const int ProbeEvery = 16;

    private const double Smoothing = 0.3;

    private readonly int _minimum;
    private readonly int _maximum;
    private readonly double _tolerance;
    private readonly int _roundSize;
    private readonly double[] _recent = new double[ProbeEvery];
    private int _rounds;
    private int _limitBeforeProbe;
    private double _roundCost;
    private double _roundLatency;
    private int _roundCount;
    private bool _roundSaturated;
    private long _roundStart = -1;

    public InflightWindow(int minimum, int maximum, double tolerance = 0.25, int roundSize = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minimum, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maximum, minimum);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tolerance);
        ArgumentOutOfRangeException.ThrowIfLessThan(roundSize, 1);
        _minimum = minimum;
        _maximum = maximum;
        _tolerance = tolerance;
        _roundSize = roundSize;
        Limit = minimum;
        Array.Fill(_recent, double.PositiveInfinity);
    }

    /// <summary>The most requests the window ever allows.</summary>
    public int Maximum => _maximum;

    /// <summary>Requests the device may have in flight now.</summary>
    public int Limit { get; private set; }

    /// <summary>Cost units per second the device completed in recent rounds that kept it full (0 until measured).</summary>
    public double Capacity { get; private set; }

    /// <summary>Lowest latency per cost unit of the recent rounds.</summary>
    public double BaselineLatencyPerCost => _recent.Min();

    private bool Probing => _limitBeforeProbe > 0;

    /// <summary>
    /// One request finished: its <paramref name="cost"/>, its device latency, the time now, and
    /// how many requests were in flight when it was sent (to know whether the window was full).
    /// </summary>
    public void Completed(double cost, long latencyNanoseconds, long nowNanoseconds, int inFlightWhenSent)
    {
        if (_roundStart < 0)
        {
            _roundStart = nowNanoseconds - latencyNanoseconds;
        }

        _roundCost += cost;
        _roundLatency += latencyNanoseconds;
        _roundCount++;
        _roundSaturated |= inFlightWhenSent >= Limit;
        if (_roundCount < _roundSize)
        {
            return;
        }

        var perCost = _roundLatency / _roundCost;
        var baseline = BaselineLatencyPerCost;
        _recent[_rounds % ProbeEvery] = perCost;
        _rounds++;
        if (Probing)
        {
            Limit = _limitBeforeProbe;
            _limitBeforeProbe = 0;
        }
        else
        {
            var elapsed = nowNanoseconds - _roundStart;
            if (_roundSaturated && elapsed > 0)
            {
                var rate = _roundCost * 1e9 / elapsed;
                Capacity = Capacity == 0 ? rate : (Smoothing * rate) + ((1 - Smoothing) * Capacity);
            }

            if (perCost > baseline * (1 + _tolerance))
            {
                Limit = Math.Max(_minimum, Limit - Math.Max(1, Limit / 8));
            }
            else if (_roundSaturated)
            {
                Limit = Math.Min(_maximum, Limit + Math.Max(1, Limit / 8));
            }

            if (_rounds % ProbeEvery == 0 && Limit > _minimum)
            {
                _limitBeforeProbe = Limit;
                Limit = Math.Max(_minimum, Limit / 2);
            }
        }

        _roundCost = _roundLatency = 0;
        _roundCount = 0;
        _roundSaturated = false;
        _roundStart = nowNanoseconds;
    }
}
