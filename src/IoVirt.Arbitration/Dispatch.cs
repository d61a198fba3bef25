namespace IoVirt.Arbitration;

/// <summary>A request the scheduler released to the device: whose, which, its cost and how long it waited.</summary>
public readonly record struct Dispatch(int Tenant, long Token, double Cost, SchedulerPhase Phase, long EnqueuedAt);
