using FsCheck;
using FsCheck.Fluent;
using IoVirt.Testing;
using IoVirt.Tests.Virtqueue;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Properties;

/// <summary>
/// <see cref="DeviceQueue.HasAvailable"/> on a sound ring, through any interleaving of the driver
/// offering, the device popping and both completing, over many laps of a ring of eight (so
/// through every wrap): it says what the next pop finds, and looking takes nothing.
/// </summary>
public class HasAvailableProperties
{
    /// <summary>Rounds of (chains the driver offers, pops the device tries).</summary>
    private static readonly Arbitrary<(int Offers, int Pops)[]> Programs =
        Gen.ArrayOf(Gen.Choose(0, 8).Zip(Gen.Choose(0, 9), (offers, pops) => (offers, pops)), 40).ToArbitrary();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void It_says_whether_the_next_pop_finds_a_chain_and_takes_nothing(bool packed)
    {
        var property = Prop.ForAll(Programs, program =>
        {
            using var h = QueueHarness.Create(packed, 8);
            var held = new Queue<ChainHead>();
            var waiting = 0;
            foreach (var (offers, pops) in program)
            {
                // The driver offers what its free descriptors allow: one per chain here.
                var offered = Math.Min(offers, 8 - waiting - held.Count);
                for (var i = 0; i < offered; i++)
                {
                    Assert.True(h.Driver.TryAdd([new(h.DataBase + ((ulong)i * 64), 64, false)], indirect: false, out _));
                }

                h.Driver.PublishAvail();
                waiting += offered;
                for (var i = 0; i < pops; i++)
                {
                    var said = h.Device.HasAvailable;
                    Assert.Equal(said, h.Device.HasAvailable);
                    Assert.Equal(waiting > 0, said);
                    if (!h.Device.TryPop(out var chain))
                    {
                        Assert.False(said);
                        break;
                    }

                    Assert.True(said);
                    Assert.Equal(QueueError.None, GuestRing.Walk(ref chain));
                    held.Enqueue(chain.Head);
                    waiting--;
                }

                // The device completes what it holds, and the driver takes it back.
                while (held.TryDequeue(out var head))
                {
                    h.Device.AddUsed(head, 0);
                }

                h.Device.PublishUsed();
                while (h.Driver.TryTakeUsed(out _, out _))
                {
                }
            }

            Assert.Equal(QueueError.None, h.Device.Fault);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void A_look_at_an_avail_index_that_jumped_stops_the_queue_as_a_pop_would()
    {
        using var h = QueueHarness.Create(packed: false, 8);
        GuestRing.SetAvailIdx(h, 9);

        Assert.False(h.Device.HasAvailable);
        GuestRing.AssertStopped(h, QueueError.AvailIndexJump);
        Assert.False(h.Device.HasAvailable);
    }
}
