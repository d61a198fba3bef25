using System.Diagnostics.Metrics;
using IoVirt.Arbitration;

namespace IoVirt.Tests.Arbitration;

/// <summary>Tenant metrics reach a System.Diagnostics.Metrics listener, tagged per tenant, without allocating.</summary>
public class TenantMetricsTests
{
    [Fact]
    public void Completions_and_throttling_are_reported_per_tenant_without_allocating()
    {
        using var metrics = new TenantMetrics();
        var totals = new Dictionary<(string Instrument, string Tenant), double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TenantMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        var count = 0;
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            count++;
            if (totals.Count < 64)
            {
                var key = (instrument.Name, (string)tags[0].Value!);
                totals[key] = totals.GetValueOrDefault(key) + value;
            }
        }

        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        metrics.Completed("a", 4096, 10_000, 3, 40);
        metrics.Completed("a", 8192, 20_000, 5, 60);
        metrics.Completed("b", 512, 1_000, 1, 9);
        metrics.Throttled("b", 250);
        Assert.Equal(2, totals[("iovirt.tenant.requests", "a")]);
        Assert.Equal(12288, totals[("iovirt.tenant.bytes", "a")]);
        Assert.Equal(30_000, totals[("iovirt.tenant.cost", "a")]);
        Assert.Equal(100, totals[("iovirt.tenant.latency", "a")]);
        Assert.Equal(1000, totals[("iovirt.tenant.cost", "b")]);
        Assert.Equal(250, totals[("iovirt.tenant.throttled", "b")]);

        var lastRun = 0;
        long Complete(int times)
        {
            var start = count;
            for (var i = 0; i < times; i++)
            {
                metrics.Completed("a", 4096, 10_000, 3, 40);
            }

            lastRun = count - start;
            return times;
        }

        Allocations.AssertNone(() => Complete(1_000), () => Complete(10_000));

        // Five measurements per completion, in the measured runs too.
        Assert.Equal(10_000 * 5, lastRun);
    }
}
