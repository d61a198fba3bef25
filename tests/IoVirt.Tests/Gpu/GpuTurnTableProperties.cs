using FsCheck;
using FsCheck.Fluent;
using IoVirt.Arbitration;
using IoVirt.Backends.Gpu.Sharing;

namespace IoVirt.Tests.Gpu;

/// <summary>
/// The GPU-time arbiter's decisions against a model, for any messages three guests may send in
/// any order (in protocol or not) and any shares: at most one holder, grants only to guests that
/// wait, a message out of turn drops its sender alone, and no guest is charged more time than passed.
/// </summary>
public class GpuTurnTableProperties
{
    private static readonly GpuTurnKind[] Kinds = [GpuTurnKind.Request, GpuTurnKind.Done, GpuTurnKind.Yield, GpuTurnKind.Grant, GpuTurnKind.Preempt, (GpuTurnKind)77];

    private static readonly Arbitrary<(TenantSpec[] Shares, (int Guest, int Kind, int Micros)[] Messages)> Cases =
        (from shares in Gen.Elements<TenantSpec[]>(
             GpuSharePolicy.Parse("best-effort", 3, out _)!,
             GpuSharePolicy.Parse("weighted:1,2,4", 3, out _)!,
             GpuSharePolicy.Parse("equal", 3, out _)!,
             GpuSharePolicy.Parse("fixed:5", 3, out _)!)
         from messages in Gen.ArrayOf(
             from guest in Gen.Choose(0, 2)
             from kind in Gen.Frequency((6, Gen.Choose(0, 2)), (1, Gen.Choose(3, 5)))
             from micros in Gen.Choose(0, 5_000)
             select (guest, kind, micros))
         select (shares, messages)).ToArbitrary();

    [Fact]
    public void The_table_does_what_the_protocol_says_for_any_messages()
    {
        var property = Prop.ForAll(Cases, @case =>
        {
            var table = new GpuTurnTable([("a", @case.Shares[0]), ("b", @case.Shares[1]), ("c", @case.Shares[2])]);
            var holder = -1;
            var waiting = new bool[3];
            var dropped = new bool[3];
            var preempted = false;
            var madeWay = -1;
            long now = 0;
            long turnsEnded = 0;
            foreach (var (guest, kindIndex, micros) in @case.Messages)
            {
                now += micros * 1_000L;
                var kind = Kinds[kindIndex];
                var verdict = table.Receive(guest, kind, now);
                if (dropped[guest])
                {
                    Assert.Equal(GpuTurnVerdict.Noted, verdict);
                }
                else if (kind == GpuTurnKind.Request && !waiting[guest] && holder != guest)
                {
                    var preempt = holder >= 0 && !preempted && guest != madeWay;
                    Assert.Equal(preempt ? GpuTurnVerdict.PreemptHolder : GpuTurnVerdict.Noted, verdict);
                    preempted |= preempt;
                    waiting[guest] = true;
                }
                else if (kind is GpuTurnKind.Done or GpuTurnKind.Yield && holder == guest)
                {
                    Assert.Equal(GpuTurnVerdict.Noted, verdict);
                    madeWay = preempted ? holder : -1;
                    holder = -1;
                    waiting[guest] = kind == GpuTurnKind.Yield;
                    turnsEnded++;
                }
                else
                {
                    Assert.Equal(GpuTurnVerdict.Drop, verdict);
                    table.Drop(guest, now);
                    madeWay = holder == guest ? (preempted ? holder : -1) : madeWay;
                    turnsEnded += holder == guest ? 1 : 0;
                    holder = holder == guest ? -1 : holder;
                    waiting[guest] = false;
                    dropped[guest] = true;
                }

                var granted = table.GrantNext(now, out var retryAt);
                if (granted >= 0)
                {
                    Assert.Equal(-1, holder);
                    Assert.True(waiting[granted] && !dropped[granted], $"guest {granted} was granted without waiting");
                    holder = granted;
                    waiting[granted] = false;
                    preempted = false;
                }
                else if (holder < 0 && waiting.Any(w => w))
                {
                    // Only a limit may hold a waiting guest back, and only until a later time.
                    Assert.True(@case.Shares.Any(share => share.Limit > 0) && retryAt > now, "a waiting guest was not granted a free GPU");
                }

                Assert.Equal(holder, table.Holder);
                Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(waiting[i], table.IsWaiting(i)));
            }

            var report = table.Report();
            Assert.Equal(turnsEnded, report.Values.Sum(totals => totals.Requests));
            Assert.True(report.Values.Sum(totals => totals.Cost) <= now + turnsEnded, "more GPU time was charged than passed");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }
}
