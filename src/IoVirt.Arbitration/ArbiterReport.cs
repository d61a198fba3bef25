namespace IoVirt.Arbitration;

/// <summary>
/// A <see cref="DeviceArbiter"/>'s totals per tenant, the requests granted and not completed,
/// those waiting in the scheduler, its in-flight window and the capacity it estimated (cost units a second, 0 until measured).
/// </summary>
public sealed record ArbiterReport(IReadOnlyDictionary<string, TenantTotals> Tenants, int InFlight, int Waiting, int Window, double Capacity);

/// <summary>
/// One tenant's completed requests, their bytes and cost, the time they waited in the scheduler
/// and at the tenant's limit, and its requests cancelled because their submitter (a queue of a
/// guest that went away) disconnected before they were granted or taken.
/// </summary>
public readonly record struct TenantTotals(long Requests, long Bytes, double Cost, double QueueWaitMicroseconds, double ThrottledMicroseconds, long Cancelled);
