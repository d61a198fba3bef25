namespace IoVirt.Arbitration;

/// <summary>A clock that moves only when told: simulations and tests.</summary>
public sealed class ManualClock : IArbiterClock
{
    public long NowNanoseconds { get; private set; }

    public void AdvanceTo(long nanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nanoseconds, NowNanoseconds);
        NowNanoseconds = nanoseconds;
    }
}
