using IoVirt.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoVirt.Arbitration;

/// <summary>
/// One device shared by tenants whose requests come from many threads. Each submitting thread
/// (a device queue's worker) is an <see cref="ArbiterClient"/>: it hands requests in, and gets
/// back the grants the scheduler released, its own and, through a wake-up, requests of other
/// clients released by its completions. The device gets at most the <see cref="InflightWindow"/>'s
/// limit at once; which tenant's request goes next is the <see cref="MClockScheduler"/>'s call.
/// Dispatch runs inline on whichever client thread calls in (a request the window admits at once
/// costs no thread switch); a timer thread only releases requests held back by a tenant's limit.
/// A tenant with a single request outstanding may send it past a full window, so the device has
/// at most the window plus one request per tenant. The window holds only while two or more tenants are active (requests waiting or in flight, or
/// idle for less than <see cref="IdleGrace"/>, so a tenant at queue depth 1 does not drop out
/// between its requests): a tenant alone has nobody to protect, so it gets the window's maximum
/// (work conservation), and only completions of requests sent under contention teach the window.
/// One lock guards it all: it is held for bookkeeping, never for I/O.
/// </summary>
public sealed class DeviceArbiter : IDisposable
{
    private readonly object _gate = new();
    private readonly NanosecondClock _clock;
    private readonly MClockScheduler _scheduler;
    private readonly InflightWindow _window;
    private readonly TenantMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly List<TenantState> _tenants = [];
    private readonly List<ArbiterClient?> _clients = [];
    private readonly Thread _timer;
    private long _wakeAt = long.MaxValue;
    private long _dispatchRound;
    private bool _contended;
    private bool _disposed;

    public DeviceArbiter(TimeProvider time, double capacity, InflightWindow window, TenantMetrics? metrics = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(window);
        _clock = new NanosecondClock(time);
        _scheduler = new MClockScheduler(capacity);
        _window = window;
        _metrics = metrics;
        _logger = logger ?? NullLogger.Instance;
        _timer = SelfNamedThread.Create("arbiter timer", ReleaseAtLimits);
        _timer.Start();
    }

    /// <summary>Requests the device has now (granted, not yet completed).</summary>
    public int InFlight { get; private set; }

    /// <summary>How long a tenant with nothing outstanding still counts as active.</summary>
    public static TimeSpan IdleGrace { get; } = TimeSpan.FromMilliseconds(20);

    private int Limit => _contended ? _window.Limit : _window.Maximum;

    /// <summary>What each tenant has had so far, by name, with the window now and the device's estimated capacity (cost units a second; 0 until measured).</summary>
    public ArbiterReport Report()
    {
        lock (_gate)
        {
            var tenants = _tenants.ToDictionary(tenant => tenant.Name, tenant => tenant.Totals, StringComparer.Ordinal);

            return new ArbiterReport(tenants, InFlight, _scheduler.Queued, _window.Limit, Math.Round(_window.Capacity));
        }
    }

    /// <summary>Adds a tenant; throws <see cref="AdmissionRefusedException"/> when its reservation does not fit.</summary>
    public int AddTenant(string name, TenantSpec spec)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_gate)
        {
            var tenant = _scheduler.AddTenant(spec);
            if (tenant == _tenants.Count)
            {
                _tenants.Add(new TenantState(name));
            }
            else
            {
                _tenants[tenant] = new TenantState(name);
            }

            return tenant;
        }
    }

    /// <summary>
    /// A submitting thread of <paramref name="tenant"/> with room for <paramref name="slots"/>
    /// requests at once; <paramref name="wake"/> is called (from another thread, under the
    /// arbiter's lock, so it must be short) when requests of this client were granted.
    /// </summary>
    public ArbiterClient Connect(int tenant, int slots, Action wake)
    {
        ArgumentNullException.ThrowIfNull(wake);
        lock (_gate)
        {
            if ((uint)tenant >= (uint)_tenants.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(tenant), tenant, "No such tenant.");
            }

            var id = _clients.IndexOf(null);
            if (id < 0)
            {
                id = _clients.Count;
                _clients.Add(null);
            }

            var client = new ArbiterClient(this, tenant, id, slots, wake);
            _clients[id] = client;
            return client;
        }
    }

    /// <summary>
    /// A client goes away: its completions noted so far count, its requests still waiting in the
    /// scheduler and its grants it never took are cancelled, and requests it took and never
    /// reported complete stop counting against the device. Its id is free again only after that,
    /// so no token of the old client can reach a new one. What it held goes to the others at once.
    /// </summary>
    internal void Disconnect(ArbiterClient client)
    {
        lock (_gate)
        {
            if (_clients[client.Id] != client)
            {
                return;
            }

            var now = _clock.Now;
            client.FlushCompletions(now);
            long id = client.Id;
            var waiting = _scheduler.Cancel(client.Tenant, token => token >> 32 == id);
            var (untaken, onDevice) = client.Detach();
            _clients[client.Id] = null;

            var state = _tenants[client.Tenant];
            var released = untaken + onDevice;
            InFlight -= released;
            state.InFlight -= released;
            state.Outstanding -= waiting + released;
            if (state.Outstanding == 0)
            {
                state.IdleSince = now;
            }

            state.Totals = state.Totals with { Cancelled = state.Totals.Cancelled + waiting + untaken };
            if (released > 0)
            {
                Dispatch(null, now);
            }
        }
    }

    /// <summary>
    /// The client's call in: its completions are accounted, its new requests queued, the
    /// scheduler releases what the window admits, and the client's grants are moved into
    /// <paramref name="granted"/> (as many as fit; the rest wait for the next call).
    /// </summary>
    internal int Exchange(ArbiterClient caller, Span<int> granted)
    {
        lock (_gate)
        {
            // One clock read per exchange, not one per request.
            var now = _clock.Now;
            caller.FlushCompletions(now);
            caller.FlushRequests(_scheduler, now);
            Dispatch(caller, now);
            return caller.TakeGrants(granted);
        }
    }

    internal void Locked(Action action)
    {
        lock (_gate)
        {
            action();
        }
    }

    /// <summary>A request of <paramref name="tenant"/> was handed in (called under the lock by the client's flush).</summary>
    internal void Arrived(int tenant)
    {
        var state = _tenants[tenant];
        state.Outstanding++;
        state.IdleSince = long.MaxValue;
    }

    /// <summary>A granted request finished (called under the lock by the client's flush).</summary>
    internal void Completed(int tenant, in ArbiterClient.Slot slot, long now)
    {
        InFlight--;
        var state = _tenants[tenant];
        state.InFlight--;
        if (--state.Outstanding == 0)
        {
            state.IdleSince = now;
        }

        var queueWait = (slot.SentAt - slot.EnqueuedAt) / 1e3;
        var totals = state.Totals;
        state.Totals = totals with
        {
            Requests = totals.Requests + 1,
            Bytes = totals.Bytes + slot.Bytes,
            Cost = totals.Cost + slot.Cost,
            QueueWaitMicroseconds = totals.QueueWaitMicroseconds + queueWait,
        };
        if (slot.SentContended)
        {
            _window.Completed(slot.Cost, now - slot.SentAt, now, slot.InFlightWhenSent);
        }

        _metrics?.Completed(state.Name, slot.Bytes, slot.Cost, queueWait, (now - slot.EnqueuedAt) / 1e3);
    }

    /// <summary>Releases requests while the window has room; wakes every other client that got some.</summary>
    private void Dispatch(ArbiterClient? caller, long now)
    {
        var retryAt = long.MaxValue;
        _dispatchRound++;
        _contended = CountActive(now) > 1;
        while (InFlight < Limit && _scheduler.TryDequeue(now, out var dispatch, out retryAt))
        {
            Release(dispatch, caller, now);
        }

        // A tenant whose one request is all it has (a light tenant, at queue depth 1) sends it past
        // a full window: it meets the device's latency, not that plus a wait for a busy tenant's
        // turn. Backlogged tenants wait for theirs, so the weights still decide among them.
        for (var tenant = 0; tenant < _tenants.Count; tenant++)
        {
            if (_tenants[tenant] is { InFlight: 0, Outstanding: 1 } && _scheduler.TryDequeue(tenant, now, out var dispatch))
            {
                Release(dispatch, caller, now);
            }
        }

        // Requests wait only at their limits when the window had room: the timer releases them when due.
        if (InFlight < Limit && retryAt != long.MaxValue && retryAt < _wakeAt)
        {
            _wakeAt = retryAt;
            Monitor.Pulse(_gate);
        }
    }

    private void Release(in Dispatch dispatch, ArbiterClient? caller, long now)
    {
        InFlight++;
        var state = _tenants[dispatch.Tenant];
        state.InFlight++;
        var client = _clients[(int)(dispatch.Token >> 32)] ?? throw new InvalidOperationException("A request was granted to a client that has gone away.");
        client.Grant((int)(dispatch.Token & uint.MaxValue), now, dispatch.EnqueuedAt, InFlight, _contended);
        if (dispatch.ThrottledNanoseconds > 0)
        {
            var throttled = dispatch.ThrottledNanoseconds / 1e3;
            state.Totals = state.Totals with { ThrottledMicroseconds = state.Totals.ThrottledMicroseconds + throttled };
            _metrics?.Throttled(state.Name, throttled);
        }

        if (client != caller)
        {
            WakeContained(client);
        }
    }

    /// <summary>A client's wake-up is its own code: one that fails is logged and costs only that client, not the thread that released its grant.</summary>
    private void WakeContained(ArbiterClient client)
    {
        try
        {
            client.Wake(_dispatchRound);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "arbiter: waking a client of tenant {Tenant} failed; its grants wait for its next exchange", _tenants[client.Tenant].Name);
        }
    }

    private int CountActive(long now)
    {
        var active = 0;
        var grace = (long)(IdleGrace.TotalMilliseconds * 1e6);
        foreach (var tenant in _tenants)
        {
            if (tenant.Outstanding > 0 || tenant.IdleSince > now - grace)
            {
                active++;
            }
        }

        return active;
    }

    /// <summary>
    /// Releases the requests whose limits have let them go by now; the timer thread calls this
    /// when the first is due, and a test on a fake <see cref="TimeProvider"/> may call it after moving time.
    /// </summary>
    public void ReleaseDue()
    {
        lock (_gate)
        {
            var now = _clock.Now;
            if (_wakeAt <= now)
            {
                _wakeAt = long.MaxValue;
                Dispatch(null, now);
            }
        }
    }

    private void ReleaseAtLimits()
    {
        lock (_gate)
        {
            while (!_disposed)
            {
                try
                {
                    ReleaseDue();
                }
                catch (Exception e)
                {
                    // A fault here must not end the process and every tenant's disks with it: log
                    // it, and the next request or due time tries again.
                    _logger.LogError(e, "arbiter: releasing requests held at their limits failed");
                }

                var wait = _wakeAt == long.MaxValue ? Timeout.Infinite : (int)Math.Clamp((_wakeAt - _clock.Now + 999_999) / 1_000_000, 1, int.MaxValue);
                Monitor.Wait(_gate, wait);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.Pulse(_gate);
        }

        _timer.Join();
    }

    /// <summary>
    /// What the arbiter keeps of a tenant: its name, its requests handed in and not completed,
    /// those of them at the device, since when it has had none (long.MaxValue: it has some;
    /// long.MinValue: never had any), and its totals.
    /// </summary>
    private sealed class TenantState(string name)
    {
        public string Name { get; } = name;

        public int Outstanding { get; set; }

        public int InFlight { get; set; }

        public long IdleSince { get; set; } = long.MinValue;

        public TenantTotals Totals { get; set; }
    }
}
