namespace IoVirt.Arbitration;

/// <summary>
/// One thread's connection to a <see cref="DeviceArbiter"/>, for requests it numbers with slots
/// of its own. The owning thread calls <see cref="Request"/> and <see cref="Complete"/>, which
/// only note things down, then <see cref="Exchange"/>, which takes the arbiter's lock once for
/// the lot and hands back the slots now granted. Grants released by other threads' exchanges
/// wait here and are announced through the wake-up given to <see cref="DeviceArbiter.Connect"/>.
/// Allocation-free once the slot table is as large as the most requests held at once.
/// </summary>
public sealed class ArbiterClient : IDisposable
{
    private readonly DeviceArbiter _arbiter;
    private readonly Action _wake;
    private Slot[] _slots;
    private int[] _requests;
    private int _requestCount;
    private int[] _completions;
    private int _completionCount;
    private int[] _grants;
    private int _grantHead;
    private int _grantCount;
    private int _onDevice;
    private long _wokenRound;

    internal ArbiterClient(DeviceArbiter arbiter, int tenant, int id, int slots, Action wake)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _arbiter = arbiter;
        Tenant = tenant;
        Id = id;
        _wake = wake;
        _slots = new Slot[slots];
        _requests = new int[slots];
        _completions = new int[slots];
        _grants = new int[slots];
    }

    public int Tenant { get; }

    internal int Id { get; }

    /// <summary>Requests handed in and not yet granted.</summary>
    public int Waiting { get; private set; }

    /// <summary>Makes room for slots up to <paramref name="capacity"/> - 1; a growth, taken under the arbiter's lock.</summary>
    public void EnsureCapacity(int capacity)
    {
        if (capacity <= _slots.Length)
        {
            return;
        }

        _arbiter.Locked(() =>
        {
            var grants = new int[capacity];
            for (var i = 0; i < _grantCount; i++)
            {
                grants[i] = _grants[(_grantHead + i) % _grants.Length];
            }

            Array.Resize(ref _slots, capacity);
            Array.Resize(ref _requests, capacity);
            Array.Resize(ref _completions, capacity);
            _grants = grants;
            _grantHead = 0;
        });
    }

    /// <summary>Notes a request in <paramref name="slot"/> costing <paramref name="cost"/> units and moving <paramref name="bytes"/>.</summary>
    public void Request(int slot, double cost, long bytes)
    {
        ref var s = ref _slots[slot];
        s.Cost = cost;
        s.Bytes = bytes;
        _requests[_requestCount++] = slot;
        Waiting++;
    }

    /// <summary>Notes that the granted request in <paramref name="slot"/> finished on the device.</summary>
    public void Complete(int slot) => _completions[_completionCount++] = slot;

    /// <summary>True when completions or requests are noted but not yet handed in.</summary>
    public bool HasNotes => _requestCount > 0 || _completionCount > 0;

    /// <summary>Hands in what was noted and takes the slots granted since, as many as fit in <paramref name="granted"/>.</summary>
    public int Exchange(Span<int> granted) => _arbiter.Exchange(this, granted);

    internal void FlushCompletions(long now)
    {
        for (var i = 0; i < _completionCount; i++)
        {
            _arbiter.Completed(Tenant, in _slots[_completions[i]], now);
        }

        _onDevice -= _completionCount;
        _completionCount = 0;
    }

    internal void FlushRequests(MClockScheduler scheduler, long now)
    {
        for (var i = 0; i < _requestCount; i++)
        {
            var slot = _requests[i];
            _arbiter.Arrived(Tenant);
            scheduler.Enqueue(Tenant, _slots[slot].Cost, ((long)Id << 32) | (uint)slot, now);
        }

        _requestCount = 0;
    }

    internal void Grant(int slot, long now, long enqueuedAt, int inFlight, bool contended)
    {
        ref var s = ref _slots[slot];
        s.SentContended = contended;
        s.SentAt = now;
        s.EnqueuedAt = enqueuedAt;
        s.InFlightWhenSent = inFlight;
        _grants[(_grantHead + _grantCount) % _grants.Length] = slot;
        _grantCount++;
    }

    /// <summary>Calls the wake-up once per dispatch round, however many requests the round granted.</summary>
    internal void Wake(long round)
    {
        if (_wokenRound != round)
        {
            _wokenRound = round;
            _wake();
        }
    }

    internal int TakeGrants(Span<int> granted)
    {
        var n = Math.Min(_grantCount, granted.Length);
        for (var i = 0; i < n; i++)
        {
            granted[i] = _grants[_grantHead];
            _grantHead = (_grantHead + 1) % _grants.Length;
        }

        _grantCount -= n;
        _onDevice += n;
        Waiting -= n;
        return n;
    }

    /// <summary>
    /// Forgets everything the client holds, as it goes away (under the arbiter's lock, after its
    /// completions were flushed): notes not handed in, grants not taken, and requests taken and not
    /// completed. Returns the grants not taken and the requests still on the device.
    /// </summary>
    internal (int UntakenGrants, int OnDevice) Detach()
    {
        var detached = (_grantCount, _onDevice);
        _requestCount = 0;
        _grantCount = 0;
        _grantHead = 0;
        _onDevice = 0;
        Waiting = 0;
        return detached;
    }

    public void Dispose() => _arbiter.Disconnect(this);

    /// <summary>What the arbiter keeps of one request between its hand-in and its completion.</summary>
    internal struct Slot
    {
        public double Cost;
        public long Bytes;
        public long EnqueuedAt;
        public long SentAt;
        public int InFlightWhenSent;
        public bool SentContended;
    }
}
