using System.Diagnostics.Metrics;

namespace IoVirt.Arbitration;

/// <summary>
/// Per-tenant figures through System.Diagnostics.Metrics (meter "IoVirt.Arbitration"), tagged
/// with the tenant's name: requests and bytes completed, cost units served, time waiting in the
/// scheduler, device latency (histograms, so a collector derives percentiles) and time spent
/// throttled at the limit. Recording allocates nothing.
/// </summary>
public sealed class TenantMetrics : IDisposable
{
    public const string MeterName = "IoVirt.Arbitration";

    /// <summary>The meter the instruments are on (a listener can tell this instance's from others').</summary>
    public Meter Meter { get; }

    private readonly Counter<long> _requests;
    private readonly Counter<long> _bytes;
    private readonly Counter<double> _cost;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<double> _latency;
    private readonly Counter<double> _throttled;

    public TenantMetrics(IMeterFactory? factory = null)
    {
        Meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _requests = Meter.CreateCounter<long>("iovirt.tenant.requests", "{request}", "Requests completed");
        _bytes = Meter.CreateCounter<long>("iovirt.tenant.bytes", "By", "Bytes moved by completed requests");
        _cost = Meter.CreateCounter<double>("iovirt.tenant.cost", "ns", "Device time charged (cost units)");
        _queueWait = Meter.CreateHistogram<double>("iovirt.tenant.queue_wait", "us", "Time a request waited in the scheduler");
        _latency = Meter.CreateHistogram<double>("iovirt.tenant.latency", "us", "Time from enqueue to completion");
        _throttled = Meter.CreateCounter<double>("iovirt.tenant.throttled", "us", "Time the tenant had work but was over its limit");
    }

    /// <summary>A request of <paramref name="tenant"/> completed.</summary>
    public void Completed(string tenant, long bytes, double cost, double queueWaitMicroseconds, double latencyMicroseconds)
    {
        if (!Enabled)
        {
            return;
        }

        var tag = new KeyValuePair<string, object?>("tenant", tenant);
        _requests.Add(1, tag);
        _bytes.Add(bytes, tag);
        _cost.Add(cost, tag);
        _queueWait.Record(queueWaitMicroseconds, tag);
        _latency.Record(latencyMicroseconds, tag);
    }

    /// <summary>True when some listener takes the completion instruments (else recording them is skipped).</summary>
    private bool Enabled => _requests.Enabled || _bytes.Enabled || _cost.Enabled || _queueWait.Enabled || _latency.Enabled;

    /// <summary><paramref name="tenant"/> waited <paramref name="microseconds"/> at its limit.</summary>
    public void Throttled(string tenant, double microseconds) => _throttled.Add(microseconds, new KeyValuePair<string, object?>("tenant", tenant));

    public void Dispose() => Meter.Dispose();
}
