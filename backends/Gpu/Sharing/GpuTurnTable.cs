using IoVirt.Arbitration;

namespace IoVirt.Backends.Gpu.Sharing;

/// <summary>What the arbiter must do after a guest's message.</summary>
public enum GpuTurnVerdict
{
    /// <summary>Noted; nothing to send but the grants <see cref="GpuTurnTable.GrantNext"/> gives.</summary>
    Noted,

    /// <summary>Noted, and the holder (<see cref="GpuTurnTable.Holder"/>) is to be sent Preempt: a guest back from idle waits.</summary>
    PreemptHolder,

    /// <summary>The message broke the protocol: drop the guest that sent it (<see cref="GpuTurnTable.Drop"/>).</summary>
    Drop,
}

/// <summary>
/// The GPU-time arbiter's decisions, without its sockets: which guest holds the GPU, who waits,
/// what each message means and what each turn is charged. A turn is queued in the
/// <see cref="MClockScheduler"/> at a nominal nanosecond and settled at the time it held the GPU
/// (grant to Done or Yield, on the caller's clock), so tags start where each guest's last turn
/// ended: start-time fair queuing over measured GPU time. Not thread-safe: one caller at a time.
/// </summary>
public sealed class GpuTurnTable
{
    /// <summary>The GPU's capacity: nanoseconds of GPU time in a second.</summary>
    public const double Capacity = 1e9;

    /// <summary>What a turn is queued at, in nanoseconds, until it is settled at what it cost.</summary>
    private const double QueuedCost = 1;

    private readonly MClockScheduler _scheduler;
    private readonly Guest[] _guests;
    private readonly TenantMetrics? _metrics;
    private Dispatch _turn;
    private long _grantedAt;
    private bool _preempted;

    /// <summary>
    /// The guest whose turn was ended after a Preempt, until the turn it made way for ends (-1:
    /// none). Asking again meanwhile is no return from idle: it waits, rather than preempt the
    /// guest it made way for, so two guests cannot bounce the GPU between them one submission at a time.
    /// </summary>
    private int _madeWay = -1;

    /// <summary>
    /// Guests by index, in the order given; throws <see cref="AdmissionRefusedException"/> when
    /// their reservations exceed the GPU. A guest coming back from idle that used less than its
    /// share lately may run up to <paramref name="idleCredit"/> of GPU time before the busy guests'
    /// next turn (its frame drawn whole rather than cut by their slices); see <see cref="MClockScheduler"/>.
    /// </summary>
    public GpuTurnTable(IReadOnlyList<(string Name, TenantSpec Share)> guests, TenantMetrics? metrics = null, TimeSpan idleCredit = default)
    {
        ArgumentNullException.ThrowIfNull(guests);
        ArgumentOutOfRangeException.ThrowIfLessThan(idleCredit, TimeSpan.Zero);
        _scheduler = new MClockScheduler(Capacity, idleCredit.TotalNanoseconds);
        _metrics = metrics;
        _guests = new Guest[guests.Count];
        for (var i = 0; i < guests.Count; i++)
        {
            var index = _scheduler.AddTenant(guests[i].Share);
            _guests[index] = new Guest(guests[i].Name);
        }
    }

    /// <summary>The guest holding the GPU; -1 when it is free.</summary>
    public int Holder { get; private set; } = -1;

    /// <summary>Guests not dropped.</summary>
    public int Connected => _guests.Count(guest => !guest.Dropped);

    /// <summary>Whether guest <paramref name="index"/> has not been dropped.</summary>
    public bool IsConnected(int index) => !_guests[index].Dropped;

    /// <summary>Whether guest <paramref name="index"/> waits for a turn.</summary>
    public bool IsWaiting(int index) => _guests[index].Queued;

    /// <summary>What each guest has had so far, by name: turns (Requests), GPU time (Cost, in nanoseconds), time waiting for turns and at its limit, and turns cancelled as it went.</summary>
    public IReadOnlyDictionary<string, TenantTotals> Report() =>
        _guests.ToDictionary(guest => guest.Name, guest => guest.Totals, StringComparer.Ordinal);

    /// <summary>Guest <paramref name="index"/> sent <paramref name="kind"/> at <paramref name="now"/> (nanoseconds).</summary>
    public GpuTurnVerdict Receive(int index, GpuTurnKind kind, long now)
    {
        var guest = _guests[index];
        if (guest.Dropped)
        {
            return GpuTurnVerdict.Noted;
        }

        switch (kind)
        {
            case GpuTurnKind.Request when !guest.Queued && Holder != index:
                Enqueue(index, now, continued: false);
                if (Holder < 0 || _preempted || index == _madeWay)
                {
                    return GpuTurnVerdict.Noted;
                }

                // A guest back from idle wants the GPU: the holder is asked (once a turn) to give it
                // back after its current submission, and the scheduler then weighs them all. Busy
                // guests ask by Yield and wait for the slice's end, so they switch no more often.
                _preempted = true;
                return GpuTurnVerdict.PreemptHolder;
            case GpuTurnKind.Done when Holder == index:
                EndTurn(now);
                return GpuTurnVerdict.Noted;
            case GpuTurnKind.Yield when Holder == index:
                EndTurn(now);
                Enqueue(index, now, continued: true);
                return GpuTurnVerdict.Noted;
            default:
                return GpuTurnVerdict.Drop;
        }
    }

    /// <summary>
    /// With the GPU free, the guest the scheduler lets go next, now its turn's holder (the caller
    /// sends it Grant); -1 when the GPU is held or nobody may go now, with the time the first
    /// held back by its limit may go in <paramref name="retryAt"/> (long.MaxValue: none).
    /// </summary>
    public int GrantNext(long now, out long retryAt)
    {
        retryAt = long.MaxValue;
        if (Holder >= 0 || !_scheduler.TryDequeue(now, out var turn, out retryAt))
        {
            return -1;
        }

        var guest = _guests[turn.Tenant];
        guest.Queued = false;
        Holder = turn.Tenant;
        _turn = turn;
        _grantedAt = now;
        _preempted = false;
        if (turn.ThrottledNanoseconds > 0)
        {
            guest.Totals = guest.Totals with { ThrottledMicroseconds = guest.Totals.ThrottledMicroseconds + (turn.ThrottledNanoseconds / 1e3) };
            _metrics?.Throttled(guest.Name, turn.ThrottledNanoseconds / 1e3);
        }

        return turn.Tenant;
    }

    /// <summary>Forgets a guest (it broke the protocol or went): its waiting turn is cancelled and a turn it held ends now, charged.</summary>
    public void Drop(int index, long now)
    {
        var guest = _guests[index];
        if (guest.Dropped)
        {
            return;
        }

        guest.Dropped = true;
        if (guest.Queued)
        {
            guest.Queued = false;
            _scheduler.Cancel(index, _ => true);
            guest.Totals = guest.Totals with { Cancelled = guest.Totals.Cancelled + 1 };
        }

        if (Holder == index)
        {
            EndTurn(now);
        }
    }

    private void Enqueue(int index, long now, bool continued)
    {
        _guests[index].Queued = true;
        _scheduler.Enqueue(index, QueuedCost, index, now, continued);
    }

    /// <summary>The holder's turn is over: charge it the time it held the GPU.</summary>
    private void EndTurn(long now)
    {
        var guest = _guests[Holder];
        var held = Math.Max(now - _grantedAt, 1);
        _scheduler.Settle(_turn, held);
        var waited = (_grantedAt - _turn.EnqueuedAt) / 1e3;
        var totals = guest.Totals;
        guest.Totals = totals with
        {
            Requests = totals.Requests + 1,
            Cost = totals.Cost + held,
            QueueWaitMicroseconds = totals.QueueWaitMicroseconds + waited,
        };
        _metrics?.Completed(guest.Name, 0, held, waited, (now - _turn.EnqueuedAt) / 1e3);
        _madeWay = _preempted ? Holder : -1;
        Holder = -1;
    }

    /// <summary>What the table keeps of one guest.</summary>
    private sealed class Guest(string name)
    {
        public string Name { get; } = name;

        public bool Queued { get; set; }

        public bool Dropped { get; set; }

        public TenantTotals Totals { get; set; }
    }
}
