using IoVirt.Arbitration;

namespace IoVirt.Tests.Arbitration;

/// <summary>
/// One arbiter client and what it expects: the slots it asked for, in order; the slots it has on
/// the device; how many requests it handed in and how many grants it took. Every grant it takes
/// must be the next slot it asked for, so a grant meant for another client (or for the client
/// that had its id before) fails the check; a wake-up after it disconnected fails too.
/// </summary>
internal sealed class ArbiterClientModel : IDisposable
{
    private readonly ArbiterClient _client;
    private readonly int _slots;
    private readonly Queue<int> _asked = new();
    private readonly List<int> _onDevice = [];
    private readonly int[] _granted;
    private int _noted;
    private bool _disconnected;

    public ArbiterClientModel(DeviceArbiter arbiter, int tenant, int slots)
    {
        _slots = slots;
        _granted = new int[slots];
        _client = arbiter.Connect(tenant, slots, () => Assert.False(_disconnected, "a client was woken after it disconnected"));
    }

    /// <summary>Requests not yet granted, on the device, or completions not yet handed in.</summary>
    public bool Busy => _asked.Count > 0 || _onDevice.Count > 0 || _client.HasNotes;

    public int OnDevice => _onDevice.Count;

    /// <summary>Requests handed to the arbiter (noted, then exchanged).</summary>
    public int HandedIn { get; private set; }

    /// <summary>Grants taken.</summary>
    public int Granted { get; private set; }

    public void Request(int count)
    {
        for (var slot = 0; slot < _slots && count > 0; slot++)
        {
            if (!_asked.Contains(slot) && !_onDevice.Contains(slot))
            {
                _client.Request(slot, 1 + slot, 512);
                _asked.Enqueue(slot);
                _noted++;
                count--;
            }
        }
    }

    public void Complete(int count)
    {
        for (; count > 0 && _onDevice.Count > 0; count--)
        {
            _client.Complete(_onDevice[0]);
            _onDevice.RemoveAt(0);
        }
    }

    public void Exchange()
    {
        var n = _client.Exchange(_granted);
        HandedIn += _noted;
        _noted = 0;
        for (var i = 0; i < n; i++)
        {
            Assert.True(_asked.Count > 0, $"slot {_granted[i]} granted, never asked for");
            Assert.Equal(_asked.Dequeue(), _granted[i]);
            _onDevice.Add(_granted[i]);
        }

        Granted += n;
        Assert.Equal(_asked.Count, _client.Waiting);
    }

    /// <summary>Goes away with whatever it has: notes not handed in never reach the arbiter.</summary>
    public void Dispose()
    {
        _disconnected = true;
        _client.Dispose();
    }
}
