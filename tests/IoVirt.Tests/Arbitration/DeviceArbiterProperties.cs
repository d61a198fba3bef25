using FsCheck;
using FsCheck.Fluent;
using IoVirt.Arbitration;
using Microsoft.Extensions.Time.Testing;

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
            var time = new FakeTimeProvider();
            using var arbiter = new DeviceArbiter(time, capacity: 1e6, new InflightWindow(minimum: 2, maximum: Maximum));
            var a = arbiter.AddTenant("a", new TenantSpec(0, 1, 0));
            var b = arbiter.AddTenant("b", new TenantSpec(100, 3, 0));
            var models = new[] { new ArbiterClientModel(arbiter, a, Slots), new ArbiterClientModel(arbiter, a, Slots), new ArbiterClientModel(arbiter, b, Slots) };
            foreach (var (client, action, count) in program)
            {
                time.Advance(TimeSpan.FromMicroseconds(1));
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
                time.Advance(TimeSpan.FromMicroseconds(1));
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
}
