using FsCheck;
using FsCheck.Fluent;
using IoVirt.Arbitration;
using Microsoft.Extensions.Time.Testing;

namespace IoVirt.Tests.Arbitration;

/// <summary>
/// The device arbiter while clients come and go: on a fake clock, clients of three tenants
/// (two of them limited, so requests wait at their limits for the timer) connect, hand in
/// requests, complete, exchange and disconnect at random, with ids reused. No grant reaches a
/// client that disconnected or one that did not ask for it; the books balance (every request
/// handed in was granted or cancelled); and once all have gone, nothing is in flight or waiting.
/// </summary>
public class ArbiterDisconnectProperties
{
    private const int Slots = 8;
    private const int MaxClients = 4;

    private static readonly Arbitrary<(int Client, int Action, int Count)[]> Programs =
        Gen.ArrayOf(
            from client in Gen.Choose(0, MaxClients - 1)
            from action in Gen.Frequency(
                (3, Gen.Constant(Step.Request)),
                (2, Gen.Constant(Step.Complete)),
                (3, Gen.Constant(Step.Exchange)),
                (2, Gen.Constant(Step.Release)),
                (1, Gen.Constant(Step.Disconnect)))
            from count in Gen.Choose(1, 6)
            select (client, (int)action, count)).ToArbitrary();

    private enum Step
    {
        Request,
        Complete,
        Exchange,
        Release,
        Disconnect,
    }

    [Fact]
    public void Grants_reach_only_their_client_and_the_books_balance_as_clients_come_and_go()
    {
        var property = Prop.ForAll(Programs, program =>
        {
            var time = new FakeTimeProvider();
            using var arbiter = new DeviceArbiter(time, capacity: 1e6, new InflightWindow(minimum: 2, maximum: 6));

            // Limits of 1e5 and 2e5 cost units/s hold a request of cost c for 10 or 5 µs per unit: longer than a step.
            int[] tenants =
            [
                arbiter.AddTenant("limited", new TenantSpec(0, 1, 1e5)),
                arbiter.AddTenant("reserved", new TenantSpec(1e5, 2, 2e5)),
                arbiter.AddTenant("free", new TenantSpec(0, 3, 0)),
            ];
            var clients = new ArbiterClientModel?[MaxClients];
            var gone = new List<ArbiterClientModel>();
            foreach (var (index, action, count) in program)
            {
                time.Advance(TimeSpan.FromMicroseconds(1));
                var client = clients[index] ??= new ArbiterClientModel(arbiter, tenants[(index + count) % tenants.Length], Slots);
                switch ((Step)action)
                {
                    case Step.Request:
                        client.Request(count);
                        break;
                    case Step.Complete:
                        client.Complete(count);
                        break;
                    case Step.Exchange:
                        client.Exchange();
                        break;
                    case Step.Release:
                        time.Advance(TimeSpan.FromMicroseconds(count * 20));
                        arbiter.ReleaseDue();
                        break;
                    default:
                        client.Dispose();
                        gone.Add(client);
                        clients[index] = null;
                        break;
                }

                Assert.True(arbiter.InFlight >= clients.Sum(c => c?.OnDevice ?? 0), "the device has fewer requests than the clients took");
            }

            // The clients still here drain, then go too.
            var live = clients.OfType<ArbiterClientModel>().ToList();
            for (var round = 0; live.Any(c => c.Busy); round++)
            {
                Assert.True(round < 10_000, "requests were never granted");
                time.Advance(TimeSpan.FromMicroseconds(100));
                arbiter.ReleaseDue();
                foreach (var client in live)
                {
                    client.Complete(Slots);
                    client.Exchange();
                }
            }

            live.ForEach(client => client.Dispose());
            gone.AddRange(live);

            var report = arbiter.Report();
            Assert.Equal(0, report.InFlight);
            Assert.Equal(0, report.Waiting);
            Assert.Equal(gone.Sum(c => c.HandedIn), gone.Sum(c => c.Granted) + report.Tenants.Values.Sum(t => t.Cancelled));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }
}
