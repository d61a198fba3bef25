using IoVirt.Arbitration;
using Microsoft.Extensions.Time.Testing;

namespace IoVirt.Testing;

/// <summary>
/// The arbiter's per-request work on the data path: <see cref="Tenants"/> tenants with mixed
/// reservations, weights and limits, one client each keeping 16 requests handed in; each round
/// one client exchanges, and completes and re-requests every slot it was granted (a closed loop),
/// the clock moving a microsecond per round. What the benchmark times and the allocation test checks.
/// </summary>
public sealed class ArbiterWorkload : IDisposable
{
    public const int Tenants = 4;
    private const int Depth = 16;

    private readonly FakeTimeProvider _time = new();
    private readonly DeviceArbiter _arbiter;
    private readonly ArbiterClient[] _clients = new ArbiterClient[Tenants];
    private readonly int[] _granted = new int[Depth];

    public ArbiterWorkload()
    {
        _arbiter = new DeviceArbiter(_time, capacity: 1e6, new InflightWindow(minimum: 4, maximum: 32));
        for (var i = 0; i < Tenants; i++)
        {
            var tenant = _arbiter.AddTenant($"t{i}", new TenantSpec(i == 0 ? 1e5 : 0, 1 + i, i == 1 ? 3e5 : 0));
            _clients[i] = _arbiter.Connect(tenant, Depth, static () => { }); // the clients take turns anyway
            for (var slot = 0; slot < Depth; slot++)
            {
                _clients[i].Request(slot, 1, 4096);
            }
        }
    }

    /// <summary>Runs <paramref name="rounds"/> exchanges; returns how many requests were granted.</summary>
    public long Run(int rounds)
    {
        long granted = 0;
        for (var i = 0; i < rounds; i++)
        {
            _time.Advance(TimeSpan.FromMicroseconds(1));
            var client = _clients[i % Tenants];
            var n = client.Exchange(_granted);
            for (var g = 0; g < n; g++)
            {
                client.Complete(_granted[g]);
                client.Request(_granted[g], 1, 4096);
            }

            granted += n;
        }

        return granted;
    }

    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _arbiter.Dispose();
    }
}
