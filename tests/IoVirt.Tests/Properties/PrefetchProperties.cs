using FsCheck;
using FsCheck.Fluent;
using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Properties;

/// <summary>
/// <see cref="DeviceQueue.Prefetch"/> is a hint: on any ring, sound or damaged, the pops that
/// follow it see exactly what they would have seen without it.
/// </summary>
public class PrefetchProperties
{
    private static readonly Arbitrary<(int Seed, (int Offset, byte Value)[] Writes, int[] Prefetches)> Rings =
        (from seed in Gen.Choose(0, int.MaxValue)
         from count in Gen.Choose(0, 24)
         from writes in Gen.ArrayOf(Gen.Choose(0, int.MaxValue).Zip(Gen.Choose(0, 255), (o, v) => (o, (byte)v)), count)
         from prefetches in Gen.ArrayOf(Gen.Choose(0, 40), 12)
         select (seed, writes, prefetches)).ToArbitrary();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pops_after_a_prefetch_see_what_they_would_have_seen_without_it(bool packed)
    {
        var property = Prop.ForAll(Rings, ring =>
        {
            using var plain = Build(packed, ring.Seed, ring.Writes);
            using var prefetched = Build(packed, ring.Seed, ring.Writes);

            var expected = Walk(plain, prefetches: null);
            var actual = Walk(prefetched, ring.Prefetches);

            Assert.Equal(expected, actual);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000).WithQuietOnSuccess(true), property);
    }

    /// <summary>A ring of eight with chains of a header and a buffer, some through indirect tables, then damaged by the given writes.</summary>
    private static QueueHarness Build(bool packed, int seed, (int Offset, byte Value)[] writes)
    {
        var h = QueueHarness.Create(packed, 8, indirect: true, indirectEntries: 4);
        var random = new Random(seed);
        var chains = random.Next(0, 9);
        for (var i = 0; i < chains; i++)
        {
            var d = h.DataBase + ((ulong)i * 256);
            _ = h.Driver.TryAdd([new(d, 16, false), new(d + 64, 32, true)], indirect: random.Next(3) == 0, out _);
        }

        h.Driver.PublishAvail();
        CorruptionProperties.Corrupt(h, writes, wholeImage: false, random);
        return h;
    }

    /// <summary>Every pop and buffer in order, as text, with a prefetch of the given size before each pop when asked.</summary>
    private static List<string> Walk(QueueHarness h, int[]? prefetches)
    {
        var seen = new List<string>();
        var device = h.Device;
        for (var pops = 0; pops < 2 * h.Config.Size; pops++)
        {
            if (prefetches is not null)
            {
                device.Prefetch(prefetches[pops % prefetches.Length]);
            }

            if (!device.TryPop(out var chain))
            {
                break;
            }

            seen.Add($"chain {chain.Head.Id}/{chain.Head.RingDescriptors}");
            while (chain.TryGetNext(out var buffer))
            {
                seen.Add($"  {buffer.GuestAddress:x} {buffer.Length} {(buffer.IsWritable ? "w" : "r")}");
            }

            seen.Add($"  end {chain.Error}");
            if (chain.Error != QueueError.None)
            {
                break;
            }

            device.AddUsed(chain.Head, 0);
        }

        seen.Add($"fault {device.Fault}");
        return seen;
    }
}
