namespace IoVirt.Arbitration;

/// <summary>
/// mClock over device-time costs. Each tenant's head request carries three tags: R advances by
/// cost/reservation, P by cost/weight, L by cost/limit. A dispatch first serves the tenant with
/// the smallest R that is due (R ≤ now); failing that, the tenant with the smallest P among
/// those under their limit (L ≤ now). A tenant therefore gets its reservation plus a weighted
/// share of what the reservations leave, never more than its limit. An idle tenant returns with
/// nothing lost and, by default, nothing banked. With an <c>idleCredit</c>, a proportional tag may
/// start behind the virtual time by up to that much of the tenant's own cost, where its last tag
/// is that far behind: one that used less than its share lately gets that burst before a
/// backlogged tenant's next request (a bounded lag, as EEVDF keeps a sleeper's), and between two
/// requests of a backlogged tenant gets no more than its share of one of them, plus the credit,
/// plus one request of its own. One thread; allocation-free once queues have grown; O(tenants)
/// per dispatch. Time is the caller's: each call says what time it is, in nanoseconds on one
/// monotonic scale.
/// </summary>
public sealed class MClockScheduler(double capacity, double idleCredit = 0)
{
    private readonly List<TenantQueue?> _tenants = [];
    private readonly double _idleCredit = idleCredit >= 0 && !double.IsInfinity(idleCredit) ? idleCredit : throw new ArgumentOutOfRangeException(nameof(idleCredit));
    private double _virtualTime;

    /// <summary>Cost units per second the device completes (calibrated); reservations must fit in it.</summary>
    public double Capacity { get; private set; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    /// <summary>Requests waiting in all tenants.</summary>
    public int Queued { get; private set; }

    public double ReservedTotal { get; private set; }

    /// <summary>Adds a tenant; throws <see cref="AdmissionRefusedException"/> when its reservation does not fit the capacity.</summary>
    public int AddTenant(TenantSpec spec)
    {
        spec.Validate();
        if (ReservedTotal + spec.Reservation > Capacity)
        {
            throw new AdmissionRefusedException(
                $"a reservation of {spec.Reservation:N0} cost units/s does not fit: {ReservedTotal:N0} of {Capacity:N0} are already reserved");
        }

        ReservedTotal += spec.Reservation;
        var index = _tenants.IndexOf(null);
        if (index < 0)
        {
            _tenants.Add(new TenantQueue(spec));
            return _tenants.Count - 1;
        }

        _tenants[index] = new TenantQueue(spec);
        return index;
    }

    /// <summary>Removes a tenant with nothing waiting.</summary>
    public void RemoveTenant(int tenant)
    {
        var queue = Tenant(tenant);
        if (queue.Count > 0)
        {
            throw new InvalidOperationException($"tenant {tenant} still has {queue.Count} requests waiting");
        }

        ReservedTotal -= queue.Spec.Reservation;
        _tenants[tenant] = null;
    }

    /// <summary>Takes a new capacity estimate; existing reservations stay (the caller decides what to do if they no longer fit).</summary>
    public void UpdateCapacity(double capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
    }

    /// <summary>
    /// Queues a request of <paramref name="tenant"/>. With <paramref name="continued"/> it follows the
    /// tenant's request served just before without a gap (a submitter with one request at a time,
    /// asking again as its last one ends): its proportional tag continues from that one's instead
    /// of starting no earlier than the virtual time, so a backlogged tenant keeps its share.
    /// </summary>
    public void Enqueue(int tenant, double cost, long token, long now, bool continued = false)
    {
        if (!(cost > 0) || double.IsInfinity(cost))
        {
            throw new ArgumentOutOfRangeException(nameof(cost), cost, "A request costs a positive, finite amount.");
        }

        var queue = Tenant(tenant);
        if (queue.Add(cost, token, now))
        {
            queue.TagHead(continued ? double.NegativeInfinity : Floor(queue));
        }

        Queued++;
    }

    /// <summary>
    /// Drops the waiting requests of <paramref name="tenant"/> whose token <paramref name="match"/>
    /// picks (a submitter that went away); how many were dropped. The tenant's tags stay where its
    /// last served request left them, so the requests it still has are neither charged nor credited.
    /// </summary>
    public int Cancel(int tenant, Predicate<long> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        var queue = Tenant(tenant);
        var head = queue.Count > 0 ? queue.Head.Token : 0;
        var removed = queue.RemoveWhere(match);
        if (removed > 0 && queue.Count > 0 && queue.Head.Token != head)
        {
            // A new head: tag it as a request reaching the head after its predecessor was served would be.
            queue.TagHead(Floor(queue));
        }

        Queued -= removed;
        return removed;
    }

    /// <summary>
    /// Releases the next request, if any tenant may send one now. When requests wait but every
    /// tenant is over its limit, returns false with the time the first becomes eligible in
    /// <paramref name="retryAt"/> (long.MaxValue when nothing waits).
    /// </summary>
    public bool TryDequeue(long now, out Dispatch dispatch, out long retryAt)
    {
        TenantQueue? reserved = null, weighted = null;
        int reservedIndex = -1, weightedIndex = -1;
        var earliestLimit = double.PositiveInfinity;
        for (var i = 0; i < _tenants.Count; i++)
        {
            var t = _tenants[i];
            if (t is null || t.Count == 0)
            {
                continue;
            }

            if (t.HeadLimit > now)
            {
                earliestLimit = Math.Min(earliestLimit, t.HeadLimit);
                continue;
            }

            if (t.HeadReservation <= now && (reserved is null || t.HeadReservation < reserved.HeadReservation))
            {
                reserved = t;
                reservedIndex = i;
            }

            if (weighted is null || t.HeadProportion < weighted.HeadProportion)
            {
                weighted = t;
                weightedIndex = i;
            }
        }

        var (chosen, index, phase) = reserved is not null
            ? (reserved, reservedIndex, SchedulerPhase.Reservation)
            : (weighted, weightedIndex, SchedulerPhase.Weight);
        if (chosen is null)
        {
            dispatch = default;
            retryAt = Queued == 0 ? long.MaxValue : (long)Math.Ceiling(earliestLimit);
            return false;
        }

        dispatch = Serve(chosen, index, phase);
        retryAt = now;
        return true;
    }

    /// <summary>
    /// Releases <paramref name="tenant"/>'s next request out of turn, if it has one and is under
    /// its limit: for a caller that lets a tenant with nothing at the device send one request
    /// past a full window. Its tags advance as for any dispatch, so it is charged for it.
    /// </summary>
    public bool TryDequeue(int tenant, long now, out Dispatch dispatch)
    {
        var queue = Tenant(tenant);
        if (queue.Count == 0 || queue.HeadLimit > now)
        {
            dispatch = default;
            return false;
        }

        dispatch = Serve(queue, tenant, queue.HeadReservation <= now ? SchedulerPhase.Reservation : SchedulerPhase.Weight);
        return true;
    }

    /// <summary>
    /// Corrects the charge for a request whose cost was only estimated when it was queued (a GPU
    /// submission's time is known once its fence retires): the tags of <paramref name="dispatch"/>'s
    /// tenant move by the difference, in the phase it was served in, and its waiting head is
    /// tagged again. A tenant that underestimates pays later; one that overestimates gets it back.
    /// </summary>
    public void Settle(in Dispatch dispatch, double actualCost)
    {
        if (!(actualCost >= 0) || double.IsInfinity(actualCost))
        {
            throw new ArgumentOutOfRangeException(nameof(actualCost), actualCost, "A cost is non-negative and finite.");
        }

        var queue = Tenant(dispatch.Tenant);
        var difference = (actualCost - dispatch.Cost) * 1e9;
        if (dispatch.Phase == SchedulerPhase.Reservation)
        {
            queue.LastReservation += difference / queue.Spec.Reservation;
        }
        else
        {
            queue.LastProportion += difference / queue.Spec.Weight;
        }

        if (queue.Spec.Limit > 0)
        {
            queue.LastLimit += difference / queue.Spec.Limit;
        }

        if (queue.Count > 0)
        {
            queue.TagHead(Floor(queue));
        }
    }

    private Dispatch Serve(TenantQueue chosen, int index, SchedulerPhase phase)
    {
        var (cost, token, enqueuedAt) = chosen.Head;
        var limitedUntil = double.IsNegativeInfinity(chosen.HeadLimit) ? enqueuedAt : (long)chosen.HeadLimit;
        if (phase == SchedulerPhase.Reservation)
        {
            chosen.LastReservation = chosen.HeadReservation;
        }
        else
        {
            chosen.LastProportion = chosen.HeadProportion;
            _virtualTime = Math.Max(_virtualTime, chosen.HeadProportion);
        }

        chosen.LastLimit = Math.Max(chosen.HeadLimit, chosen.LastLimit);
        chosen.RemoveHead();
        Queued--;
        if (chosen.Count > 0)
        {
            chosen.TagHead(Floor(chosen));
        }

        return new Dispatch(index, token, cost, phase, enqueuedAt, limitedUntil);
    }

    /// <summary>How early <paramref name="queue"/>'s proportional tag may start: the virtual time, less the idle credit in the tenant's own terms.</summary>
    private double Floor(TenantQueue queue) => _virtualTime - (_idleCredit * 1e9 / queue.Spec.Weight);

    private TenantQueue Tenant(int tenant) =>
        (uint)tenant < (uint)_tenants.Count && _tenants[tenant] is { } queue ? queue : throw new ArgumentOutOfRangeException(nameof(tenant), tenant, "No such tenant.");
}
