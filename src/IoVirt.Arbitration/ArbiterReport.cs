namespace IoVirt.Arbitration;

/// <summary>
/// A <see cref="DeviceArbiter"/>'s totals per tenant, the requests granted and not completed,
/// its in-flight window and the capacity it estimated (cost units a second, 0 until measured).
/// </summary>
public sealed record ArbiterReport(IReadOnlyDictionary<string, TenantTotals> Tenants, int InFlight, int Window, double Capacity);

/// <summary>One tenant's completed requests, their bytes and cost, and the time they waited in the scheduler and at the tenant's limit.</summary>
public readonly record struct TenantTotals(long Requests, long Bytes, double Cost, double QueueWaitMicroseconds, double ThrottledMicroseconds);
