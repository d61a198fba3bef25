namespace IoVirt.Arbitration;

/// <summary>
/// A request the scheduler released to the device: whose, which, its cost, when it arrived, and
/// when its tenant's limit let it go (its arrival when the limit held nothing back).
/// </summary>
public readonly record struct Dispatch(int Tenant, long Token, double Cost, SchedulerPhase Phase, long EnqueuedAt, long LimitedUntil)
{
    /// <summary>How long the request waited for its tenant's limit alone.</summary>
    public long ThrottledNanoseconds => Math.Max(0, LimitedUntil - EnqueuedAt);
}
