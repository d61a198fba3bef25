using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IoVirt.Arbitration;

namespace IoVirt.Backends.Net.Switching;

/// <summary>
/// The MACs seen as sources on the uplink, each on its VLAN, with when it was last seen. The table
/// is bounded: a full table refuses new MACs (they are counted and their frames flooded) rather
/// than evicting live ones, so a flood of made-up sources cannot push out real stations. An entry
/// not seen for the aging time is forgotten. Learning (uplink thread) and lookups (port workers)
/// share one short lock; the dictionary is sized up front, so learning allocates nothing.
/// </summary>
internal sealed class LearnedMacs
{
    private readonly object _gate = new();
    private readonly Dictionary<ulong, long> _lastSeen;
    private readonly int _capacity;
    private readonly long _aging;
    private readonly NanosecondClock _clock;
    private readonly UplinkCounters _counters;
    private long _sweptAt;

    public LearnedMacs(UplinkOptions options, UplinkCounters counters)
    {
        _capacity = options.MaxLearned;
        _lastSeen = new Dictionary<ulong, long>(_capacity);
        _aging = options.Aging.Ticks * 100;
        _clock = new NanosecondClock(options.Time);
        _counters = counters;
        _sweptAt = _clock.Now;
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _lastSeen.Count;
            }
        }
    }

    /// <summary>Records that <paramref name="key"/> (MAC and VLAN) was just seen as a source.</summary>
    public void Learn(ulong key)
    {
        var now = _clock.Now;
        lock (_gate)
        {
            // One lookup for the common case, a station seen again.
            ref var seen = ref CollectionsMarshal.GetValueRefOrNullRef(_lastSeen, key);
            if (!Unsafe.IsNullRef(ref seen))
            {
                seen = now;
                return;
            }

            if (_lastSeen.Count == _capacity)
            {
                ForgetExpired(now);
            }

            if (_lastSeen.Count == _capacity)
            {
                _counters.RefuseLearning();
                return;
            }

            _lastSeen.Add(key, now);
        }

        _counters.Learn();
    }

    /// <summary>Whether <paramref name="key"/> was seen on the uplink within the aging time.</summary>
    public bool Contains(ulong key)
    {
        var now = _clock.Now;
        lock (_gate)
        {
            if (!_lastSeen.TryGetValue(key, out var seen))
            {
                return false;
            }

            if (now - seen < _aging)
            {
                return true;
            }

            _lastSeen.Remove(key);
            return false;
        }
    }

    /// <summary>
    /// Drops expired entries. A full table is walked at most eight times per aging time: a flood
    /// of new sources would otherwise walk it once per frame.
    /// </summary>
    private void ForgetExpired(long now)
    {
        if (now - _sweptAt < _aging / 8)
        {
            return;
        }

        _sweptAt = now;
        foreach (var (key, seen) in _lastSeen)
        {
            if (now - seen >= _aging)
            {
                _lastSeen.Remove(key);
            }
        }
    }
}
