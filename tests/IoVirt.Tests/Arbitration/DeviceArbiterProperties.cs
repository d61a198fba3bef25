using FsCheck;
using FsCheck.Fluent;
using IoVirt.Arbitration;

namespace IoVirt.Tests.Arbitration;

/// <summary>
/// The device arbiter against a model of its clients: whatever the interleaving of requests,
/// completions and exchanges on three clients (two of one tenant), every request is granted
/// once, each client's grants come in the order it asked, the device never has more than the
/// window's maximum plus one per tenant (a tenant with nothing at the device may send one past
/// the window), and once every client keeps exchanging and completing, all is granted.
/// </summary>
public class DeviceArbiterProperties
{
    private const int Slots = 16;
    private const int Maximum = 8;

    private static readonly Arbitrary<(int Client, int Action, int Count)[]> Programs =
        Gen.ArrayOf(
            from client in Gen.Choose(0, 2)
            from action in Gen.Choose(0, 2)
            from count in Gen.Choose(1, 6)
            select (client, action, count)).ToArbitrary();

    [Fact]
    public void Every_request_is_granted_once_in_its_clients_order_within_the_window()
    {
        var property = Prop.ForAll(Programs, program =>
        {
            var clock = new ManualClock();
            using var arbiter = new DeviceArbiter(clock, capacity: 1e6, new InflightWindow(minimum: 2, maximum: Maximum));
            var a = arbiter.AddTenant("a", new TenantSpec(0, 1, 0));
            var b = arbiter.AddTenant("b", new TenantSpec(100, 3, 0));
            var models = new[] { new ClientModel(arbiter, a), new ClientModel(arbiter, a), new ClientModel(arbiter, b) };
            foreach (var (client, action, count) in program)
            {
                clock.AdvanceTo(clock.NowNanoseconds + 1000);
                var model = models[client];
                switch (action)
                {
                    case 0:
                        model.Request(count);
                        break;
                    case 1:
                        model.Complete(count);
                        break;
                    default:
                        model.Exchange();
                        break;
                }

                Assert.InRange(arbiter.InFlight, models.Sum(m => m.OnDevice), Maximum + 2);
            }

            // Drain: everyone completes and exchanges until nothing waits; a lost request would loop forever.
            for (var round = 0; models.Any(m => m.Busy); round++)
            {
                Assert.True(round < 10_000, "requests were never granted");
                clock.AdvanceTo(clock.NowNanoseconds + 1000);
                foreach (var model in models)
                {
                    model.Complete(Slots);
                    model.Exchange();
                }
            }

            Assert.Equal(0, arbiter.InFlight);
            foreach (var model in models)
            {
                model.Dispose();
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }

    /// <summary>One client and what it expects: slots asked for in order, and slots on the device.</summary>
    private sealed class ClientModel(DeviceArbiter arbiter, int tenant) : IDisposable
    {
        private readonly ArbiterClient _client = arbiter.Connect(tenant, Slots, () => { });
        private readonly Queue<int> _asked = new();
        private readonly List<int> _onDevice = [];
        private readonly int[] _granted = new int[Slots];

        /// <summary>Requests not yet granted, on the device, or completions not yet handed in.</summary>
        public bool Busy => _asked.Count > 0 || _onDevice.Count > 0 || _client.HasNotes;

        public int OnDevice => _onDevice.Count;

        public void Request(int count)
        {
            for (var slot = 0; slot < Slots && count > 0; slot++)
            {
                if (!_asked.Contains(slot) && !_onDevice.Contains(slot))
                {
                    _client.Request(slot, 1 + slot, 512);
                    _asked.Enqueue(slot);
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
            for (var i = 0; i < n; i++)
            {
                Assert.True(_asked.Count > 0, $"slot {_granted[i]} granted, never asked for");
                Assert.Equal(_asked.Dequeue(), _granted[i]);
                _onDevice.Add(_granted[i]);
            }

            Assert.Equal(_asked.Count, _client.Waiting);
        }

        public void Dispose() => _client.Dispose();
    }
}
