using IoVirt.Arbitration;
using Microsoft.Extensions.Time.Testing;

namespace IoVirt.Tests.Arbitration;

/// <summary>The device arbiter's dispatch: who gets the device, how much of it at once, and who is woken.</summary>
public sealed class DeviceArbiterTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly DateTimeOffset _start;
    private readonly DeviceArbiter _arbiter;
    private readonly int[] _granted = new int[64];

    public DeviceArbiterTests()
    {
        _start = _time.GetUtcNow();
        _arbiter = new DeviceArbiter(_time, capacity: 1e6, new InflightWindow(minimum: 2, maximum: 8));
    }

    [Fact]
    public void A_lone_tenant_gets_the_windows_maximum_and_with_a_second_busy_one_the_window_holds()
    {
        var (a, _) = Client("a");
        var (b, bWakes) = Client("b", new TenantSpec(0, 2, 0));
        RequestSlots(a, 0, 20);
        Assert.Equal(8, a.Exchange(_granted));
        Assert.Equal(8, _arbiter.InFlight);

        // B's one request is all it has, so it goes past the full window.
        b.Request(0, 1, 4096);
        Assert.Equal(1, b.Exchange(_granted));
        Assert.Equal(9, _arbiter.InFlight);

        // With two waiting, B takes its turn: A's completions leave room for one more in the
        // window of two, B's (B weighs twice A, and A has just had eight), and B is woken for it.
        RequestSlots(b, 1, 2);
        Assert.Equal(0, b.Exchange(_granted));
        AdvanceTo(100_000);
        for (var slot = 0; slot < 8; slot++)
        {
            a.Complete(slot);
        }

        Assert.Equal(0, a.Exchange(_granted));
        Assert.Equal(1, bWakes.Count);
        Assert.Equal(1, b.Exchange(_granted));
        Assert.Equal(1, _granted[0]);
        Assert.Equal(2, _arbiter.InFlight);
        Assert.Equal(12, a.Waiting);
    }

    [Fact]
    public void A_tenant_idle_for_less_than_the_grace_still_holds_the_others_to_the_window()
    {
        var (a, _) = Client("a");
        var (b, _) = Client("b");
        b.Request(0, 1, 4096);
        Assert.Equal(1, b.Exchange(_granted));
        b.Complete(0);
        Assert.Equal(0, b.Exchange(_granted));

        RequestSlots(a, 0, 20);
        Assert.Equal(2, a.Exchange(_granted));

        _time.Advance(DeviceArbiter.IdleGrace + TimeSpan.FromTicks(1));
        a.Complete(_granted[0]);
        a.Complete(_granted[1]);
        Assert.Equal(8, a.Exchange(_granted));
    }

    [Fact]
    public void A_tenant_over_its_limit_is_released_by_the_timer_at_its_rate()
    {
        const double Limit = 2000;
        using var arbiter = new DeviceArbiter(TimeProvider.System, capacity: 1e6, new InflightWindow(minimum: 2, maximum: 64));
        using var woken = new SemaphoreSlim(0);
        using var client = arbiter.Connect(arbiter.AddTenant("limited", new TenantSpec(0, 1, Limit)), 64, () => woken.Release());
        RequestSlots(client, 0, 64);
        var granted = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMilliseconds(500))
        {
            var n = client.Exchange(_granted);
            for (var i = 0; i < n; i++)
            {
                client.Complete(_granted[i]);
                client.Request(_granted[i], 1, 4096);
            }

            granted += n;
            woken.Wait(5);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        // Never above the limit; below it only by what a loaded machine's late timer loses.
        Assert.InRange(granted, 0.5 * Limit * 0.5, (Limit * seconds * 1.02) + 2);
    }

    [Fact]
    public void A_tenant_over_its_limit_does_not_hold_back_another()
    {
        var (limited, _) = Client("limited", new TenantSpec(0, 1, 1000));
        var (free, _) = Client("free");

        // At 1 ms the limit allows one request.
        AdvanceTo(1_000_000);
        RequestSlots(limited, 0, 10);
        Assert.Equal(1, limited.Exchange(_granted));
        RequestSlots(free, 0, 2);
        Assert.Equal(1, free.Exchange(_granted));
    }

    [Fact]
    public void Completions_and_time_held_at_a_limit_reach_the_tenants_metrics()
    {
        using var metrics = new TenantMetrics();
        using var arbiter = new DeviceArbiter(_time, capacity: 1e6, new InflightWindow(minimum: 2, maximum: 8), metrics);
        var totals = new System.Collections.Concurrent.ConcurrentDictionary<(string Instrument, string Tenant), double>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == metrics.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => totals.AddOrUpdate((i.Name, (string)t[0].Value!), v, (_, old) => old + v));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => totals.AddOrUpdate((i.Name, (string)t[0].Value!), v, (_, old) => old + v));
        listener.Start();

        // 1000 units a second: of two requests handed in at 0, the first is due at 1 ms, the second at 2 ms.
        using var client = arbiter.Connect(arbiter.AddTenant("metered", new TenantSpec(0, 1, 1000)), 4, () => { });
        RequestSlots(client, 0, 2);
        Assert.Equal(0, client.Exchange(_granted));
        AdvanceTo(2_000_000);
        Assert.Equal(2, client.Exchange(_granted));
        AdvanceTo(2_050_000);
        client.Complete(0);
        client.Complete(1);
        Assert.Equal(0, client.Exchange(_granted));

        Assert.Equal(2, totals[("iovirt.tenant.requests", "metered")]);
        Assert.Equal(8192, totals[("iovirt.tenant.bytes", "metered")]);
        Assert.Equal(1000 + 2000, totals[("iovirt.tenant.throttled", "metered")], 1e-6);
        Assert.Equal(2 * 2050, totals[("iovirt.tenant.latency", "metered")], 1e-6);
    }

    [Fact]
    public void A_client_that_goes_away_while_held_at_its_limit_has_its_requests_cancelled_not_granted_to_its_ids_next_owner()
    {
        var tenant = _arbiter.AddTenant("limited", new TenantSpec(0, 1, 1000));
        var leaving = _arbiter.Connect(tenant, 32, () => { });
        AdvanceTo(1_000_000);
        RequestSlots(leaving, 0, 4);
        Assert.Equal(1, leaving.Exchange(_granted));
        leaving.Dispose();

        // The next client takes the freed id; the timer's release at the old requests' due time grants it nothing it did not ask for.
        var wakes = 0;
        using var next = _arbiter.Connect(tenant, 32, () => wakes++);
        AdvanceTo(10_000_000);
        _arbiter.ReleaseDue();
        Assert.Equal(0, next.Exchange(_granted));
        Assert.Equal(0, wakes);

        var report = _arbiter.Report();
        Assert.Equal(0, report.InFlight);
        Assert.Equal(0, report.Waiting);
        Assert.Equal(3, report.Tenants["limited"].Cancelled);
    }

    [Fact]
    public void A_client_whose_wake_up_throws_costs_only_itself_and_the_fault_is_logged()
    {
        var log = new IoVirt.Testing.RecordingLogger();
        using var arbiter = new DeviceArbiter(TimeProvider.System, capacity: 1e6, new InflightWindow(minimum: 2, maximum: 8), logger: log);
        using var broken = arbiter.Connect(arbiter.AddTenant("broken", new TenantSpec(0, 1, 2000)), 8, () => throw new InvalidOperationException("injected wake-up fault"));
        using var woken = new SemaphoreSlim(0);
        using var healthy = arbiter.Connect(arbiter.AddTenant("healthy", new TenantSpec(0, 1, 2000)), 8, () => woken.Release());

        // Both are held at their limits, so the timer thread grants them and wakes them: the broken wake-up throws there.
        RequestSlots(broken, 0, 8);
        RequestSlots(healthy, 0, 8);
        var granted = 0;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (granted < 16 && DateTime.UtcNow < deadline)
        {
            granted += ExchangeAndComplete(healthy) + ExchangeAndComplete(broken);
            woken.Wait(10);
        }

        Assert.Equal(16, granted);
        Assert.True(log.Contains(Microsoft.Extensions.Logging.LogLevel.Error, "waking a client of tenant broken failed"));
    }

    private (ArbiterClient Client, WakeCount Wakes) Client(string name, TenantSpec? spec = null)
    {
        var wakes = new WakeCount();
        var client = _arbiter.Connect(_arbiter.AddTenant(name, spec ?? new TenantSpec(0, 1, 0)), 32, () => wakes.Count++);
        return (client, wakes);
    }

    /// <summary>Takes the client's grants and completes them at once; how many there were.</summary>
    private int ExchangeAndComplete(ArbiterClient client)
    {
        var n = client.Exchange(_granted);
        foreach (var slot in _granted.AsSpan(0, n))
        {
            client.Complete(slot);
        }

        return n;
    }

    private static void RequestSlots(ArbiterClient client, int first, int count)
    {
        for (var slot = first; slot < first + count; slot++)
        {
            client.Request(slot, 1, 4096);
        }
    }

    public void Dispose() => _arbiter.Dispose();

    private sealed class WakeCount
    {
        public int Count { get; set; }
    }

    /// <summary>Moves the fake clock to <paramref name="nanoseconds"/> after the test began (rounded up to its 100 ns ticks).</summary>
    private void AdvanceTo(long nanoseconds) => _time.SetUtcNow(_start + TimeSpan.FromTicks((nanoseconds + 99) / 100));
}
