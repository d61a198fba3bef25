using IoVirt.Arbitration;

namespace IoVirt.Testing;

/// <summary>
/// The scheduler's per-request work: <see cref="Tenants"/> backlogged tenants with mixed
/// reservations, weights and limits, 16 requests each; each round dispatches one request and
/// its tenant sends the next (a closed loop), the clock moving a microsecond per request. What
/// the benchmark times and the allocation test checks.
/// </summary>
public sealed class SchedulerWorkload
{
    public const int Tenants = 8;

    private readonly MClockScheduler _scheduler;
    private readonly int[] _ids = new int[Tenants];
    private long _now;

    public SchedulerWorkload()
    {
        _scheduler = new MClockScheduler(capacity: 1e9);
        for (var i = 0; i < Tenants; i++)
        {
            _ids[i] = _scheduler.AddTenant(new TenantSpec(i % 3 == 0 ? 5e7 : 0, 1 + i, i % 4 == 1 ? 3e8 : 0));
            for (var r = 0; r < 16; r++)
            {
                _scheduler.Enqueue(_ids[i], 4096 + (i * 512), r, _now);
            }
        }
    }

    /// <summary>Runs <paramref name="requests"/> enqueue-dispatch rounds; returns how many dispatched.</summary>
    public long Run(int requests)
    {
        long dispatched = 0;
        for (var i = 0; i < requests; i++)
        {
            _now += 1000;
            if (_scheduler.TryDequeue(_now, out var dispatch, out _))
            {
                _scheduler.Enqueue(dispatch.Tenant, dispatch.Cost, i, _now);
                dispatched++;
            }
        }

        return dispatched;
    }
}
