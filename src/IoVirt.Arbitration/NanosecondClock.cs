namespace IoVirt.Arbitration;

/// <summary>
/// Nanoseconds since it was made, read from a <see cref="TimeProvider"/>'s timestamps: the
/// machine's monotonic clock in service (<see cref="TimeProvider.System"/>), a fake one that
/// moves when told in tests. Counting from its own start keeps the numbers small whatever the
/// provider's epoch.
/// </summary>
public sealed class NanosecondClock
{
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly double _nanosecondsPerTick;

    public NanosecondClock(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _origin = time.GetTimestamp();
        _nanosecondsPerTick = 1e9 / time.TimestampFrequency;
    }

    public long Now => (long)((_time.GetTimestamp() - _origin) * _nanosecondsPerTick);
}
