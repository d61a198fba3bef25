namespace IoVirt.Arbitration;

/// <summary>
/// One tenant's waiting requests (a FIFO that only grows, so steady state allocates nothing)
/// and its mClock tags: the last reservation, proportional and limit tags it was served at,
/// and the tags of its head request.
/// </summary>
internal sealed class TenantQueue(TenantSpec spec)
{
    private (double Cost, long Token, long EnqueuedAt)[] _items = new (double, long, long)[16];
    private int _head;

    public TenantSpec Spec { get; set; } = spec;

    public int Count { get; private set; }

    public double LastReservation { get; set; }

    public double LastProportion { get; set; }

    public double LastLimit { get; set; }

    public double HeadReservation { get; private set; }

    public double HeadProportion { get; private set; }

    public double HeadLimit { get; private set; }

    public ref readonly (double Cost, long Token, long EnqueuedAt) Head => ref _items[_head];

    /// <summary>Adds a request; true when it is the new head (the tenant was idle).</summary>
    public bool Add(double cost, long token, long now)
    {
        if (Count == _items.Length)
        {
            var grown = new (double, long, long)[_items.Length * 2];
            for (var i = 0; i < Count; i++)
            {
                grown[i] = _items[(_head + i) % _items.Length];
            }

            _items = grown;
            _head = 0;
        }

        _items[(_head + Count) % _items.Length] = (cost, token, now);
        Count++;
        return Count == 1;
    }

    public void RemoveHead()
    {
        _head = (_head + 1) % _items.Length;
        Count--;
    }

    /// <summary>Drops every waiting request whose token <paramref name="match"/> picks, keeping the others in order; how many were dropped.</summary>
    public int RemoveWhere(Predicate<long> match)
    {
        var kept = 0;
        for (var i = 0; i < Count; i++)
        {
            var item = _items[(_head + i) % _items.Length];
            if (!match(item.Token))
            {
                _items[(_head + kept) % _items.Length] = item;
                kept++;
            }
        }

        var removed = Count - kept;
        Count = kept;
        return removed;
    }

    /// <summary>
    /// Tags the head request. Each tag follows the last one served by cost/rate but never starts
    /// before the request arrived (reservation, limit) or before the virtual time (proportion):
    /// an idle tenant that comes back has banked nothing and lost nothing, and a backlogged one
    /// keeps its pace however late its requests reach the head.
    /// </summary>
    public void TagHead(double virtualTime)
    {
        var (cost, _, arrived) = Head;
        HeadReservation = Spec.Reservation > 0 ? Math.Max(LastReservation + (cost * 1e9 / Spec.Reservation), arrived) : double.PositiveInfinity;
        HeadProportion = Math.Max(LastProportion + (cost * 1e9 / Spec.Weight), virtualTime);
        HeadLimit = Spec.Limit > 0 ? Math.Max(LastLimit + (cost * 1e9 / Spec.Limit), arrived) : double.NegativeInfinity;
    }
}
