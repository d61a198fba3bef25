using IoVirt.Arbitration;

namespace IoVirt.Testing.Simulation;

/// <summary>
/// A deterministic discrete-event run of an <see cref="MClockScheduler"/> in front of a
/// <see cref="SyntheticDevice"/>, in simulated nanoseconds: whenever a channel is free the
/// scheduler picks the next request; completions bring closed-loop tenants their next request.
/// Seconds of simulated time take milliseconds, so fairness can be checked in tests.
/// </summary>
public static class Simulation
{
    public static SimulationResult Run(SyntheticDevice device, IReadOnlyList<SimulatedTenant> tenants, int seconds, double admittedCapacity = 0)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(tenants);
        var scheduler = new MClockScheduler(admittedCapacity > 0 ? admittedCapacity : device.NominalCapacity);
        var ids = tenants.Select(t => scheduler.AddTenant(t.Spec)).ToArray();
        var outstanding = new int[tenants.Count];
        var served = Enumerable.Range(0, seconds).Select(_ => new double[tenants.Count]).ToArray();
        var capacity = new double[seconds];
        for (var w = 0; w < seconds; w++)
        {
            capacity[w] = device.Channels * 1e9 * device.SpeedAt(w + 0.5);
        }

        // In service: (finish time, tenant index, cost), a small array scanned for the earliest.
        var channels = new (long Finish, int Tenant, double Cost)[device.Channels];
        var busy = 0;
        var end = seconds * 1_000_000_000L;
        var now = 0L;
        while (now < end)
        {
            var second = now / 1e9;
            for (var i = 0; i < tenants.Count; i++)
            {
                var active = second >= tenants[i].ActiveFrom && second < tenants[i].ActiveUntil;
                while (active && outstanding[i] < tenants[i].Depth)
                {
                    scheduler.Enqueue(ids[i], tenants[i].Cost, i, now);
                    outstanding[i]++;
                }
            }

            var retryAt = long.MaxValue;
            while (busy < channels.Length && scheduler.TryDequeue(now, out var dispatch, out retryAt))
            {
                var serviceTime = (long)Math.Ceiling(dispatch.Cost / device.SpeedAt(second));
                channels[busy++] = (now + Math.Max(serviceTime, 1), (int)dispatch.Token, dispatch.Cost);
            }

            var next = busy < channels.Length ? Math.Min(retryAt, NextActivation(tenants, second)) : long.MaxValue;
            var first = -1;
            for (var c = 0; c < busy; c++)
            {
                if (first < 0 || channels[c].Finish < channels[first].Finish)
                {
                    first = c;
                }
            }

            if (first >= 0 && channels[first].Finish <= next)
            {
                var (finish, tenant, cost) = channels[first];
                channels[first] = channels[--busy];
                now = finish;
                if (now < end)
                {
                    served[now / 1_000_000_000L][tenant] += cost;
                }

                outstanding[tenant]--;
            }
            else
            {
                now = next == long.MaxValue ? end : Math.Max(next, now + 1);
            }
        }

        return new SimulationResult(tenants.Select(t => t.Name).ToArray(), served, capacity);
    }

    private static long NextActivation(IReadOnlyList<SimulatedTenant> tenants, double second)
    {
        var next = double.PositiveInfinity;
        foreach (var t in tenants)
        {
            if (t.ActiveFrom > second)
            {
                next = Math.Min(next, t.ActiveFrom);
            }
        }

        return double.IsPositiveInfinity(next) ? long.MaxValue : (long)Math.Ceiling(next * 1e9);
    }
}
