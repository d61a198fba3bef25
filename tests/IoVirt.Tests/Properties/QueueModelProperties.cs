using FsCheck;
using FsCheck.Fluent;
using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Properties;

public class QueueModelProperties
{
    private static readonly Gen<Step> StepGen =
        from kind in Gen.Frequency((4, Gen.Constant<byte>(0)), (3, Gen.Constant<byte>(1)), (3, Gen.Constant<byte>(2)), (3, Gen.Constant<byte>(3)), (1, Gen.Choose(4, 7).Select(k => (byte)k)))
        from a in Gen.Choose(0, 255)
        from b in Gen.Choose(0, 255)
        from c in Gen.Choose(0, int.MaxValue)
        select new Step(kind, (byte)a, (byte)b, c);

    private static readonly Arbitrary<(int Size, Step[] Steps)> Programs =
        (from size in Gen.Elements(2, 4, 8, 16)
         from count in Gen.Choose(30, 300)
         from steps in Gen.ArrayOf(StepGen, count)
         select (size, steps)).ToArbitrary();

    public static TheoryData<bool, bool, bool> Formats() => new()
    {
        { false, false, false },
        { false, false, true },
        { false, true, false },
        { false, true, true },
        { true, false, false },
        { true, false, true },
        { true, true, false },
        { true, true, true },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void The_device_sees_exactly_what_the_driver_published_and_the_driver_gets_back_exactly_what_the_device_completed(bool packed, bool eventIdx, bool indirect)
    {
        var property = Prop.ForAll(Programs, program =>
        {
            // Split sizes must be powers of two; packed ones need not, so vary them there.
            var size = packed && program.Size > 2 ? program.Size - 1 : program.Size;
            using var h = QueueHarness.Create(packed, size, eventIdx, indirect, indirectEntries: 4);
            new QueueModel(h, packed, eventIdx, indirect).Run(program.Steps);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Seventy_thousand_round_trips_wrap_every_index_and_nothing_is_lost(bool packed)
    {
        // 16-bit split indices wrap after 65536 entries; packed wrap counters flip every lap.
        var roundTrips = RunRounds(packed, 50_000, i => new Step(0, 1, unchecked((byte)(i * 7)), i * 13), i => new Step(2, (byte)(i % 3 == 0 ? 2 : 255), unchecked((byte)i), i));
        Assert.True(roundTrips > 70_000, $"{roundTrips} round trips");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_largest_step_parameters_make_a_valid_program(bool packed)
    {
        // The generator draws C up to int.MaxValue; lengths derived from it must not overflow.
        var roundTrips = RunRounds(packed, 8, _ => new Step(0, 255, 255, int.MaxValue), _ => new Step(2, 255, 255, int.MaxValue));
        Assert.True(roundTrips >= 8, $"{roundTrips} round trips");
    }

    /// <summary>
    /// Runs <paramref name="rounds"/> rounds of add (round i's step from <paramref name="add"/>),
    /// pop all, complete (from <paramref name="complete"/>) and take all on a ring of four with
    /// event indices and indirect tables; returns the model's round trips.
    /// </summary>
    private static int RunRounds(bool packed, int rounds, Func<int, Step> add, Func<int, Step> complete)
    {
        using var h = QueueHarness.Create(packed, 4, eventIdx: true, indirect: true, indirectEntries: 4);
        var model = new QueueModel(h, packed, eventIdx: true, indirect: true);
        var steps = new List<Step>();
        for (var i = 0; i < rounds; i++)
        {
            steps.Add(add(i));
            steps.Add(new Step(1, 0, 0, 0));
            steps.Add(complete(i));
            steps.Add(new Step(3, 0, 0, 0));
        }

        model.Run(steps);
        return model.RoundTrips;
    }

    [Fact]
    public void The_event_index_test_matches_counting_the_steps()
    {
        var triples = (from e in Gen.Choose(0, 65535)
                       from o in Gen.Choose(0, 65535)
                       from d in Gen.Choose(0, 300)
                       select ((ushort)e, (ushort)o, d)).ToArbitrary();
        var property = Prop.ForAll(triples, t =>
        {
            var (eventIndex, old, distance) = t;
            var current = unchecked((ushort)(old + distance));
            // Model: walking old+1 .. current one step at a time, is eventIndex+1 ever reached?
            var expected = false;
            for (var i = 1; i <= distance; i++)
            {
                expected |= unchecked((ushort)(old + i)) == unchecked((ushort)(eventIndex + 1));
            }

            return expected == EventIndex.NeedsEvent(eventIndex, current, old);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(20_000).WithQuietOnSuccess(true), property);
    }
}
