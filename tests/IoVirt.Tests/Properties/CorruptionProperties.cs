using FsCheck;
using FsCheck.Fluent;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Properties;

public class CorruptionProperties
{
    private static readonly Arbitrary<(int Seed, (int Offset, byte Value)[] Writes, bool WholeImage, bool EventIdx)> Damage =
        (from seed in Gen.Choose(0, int.MaxValue)
         from count in Gen.Choose(1, 64)
         from writes in Gen.ArrayOf(Gen.Choose(0, int.MaxValue).Zip(Gen.Choose(0, 255), (o, v) => (o, (byte)v)), count)
         from whole in Gen.Frequency((1, Gen.Constant(true)), (4, Gen.Constant(false)))
         from eventIdx in Gen.Elements(true, false)
         select (seed, writes, whole, eventIdx)).ToArbitrary();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Random_corruption_of_rings_and_indirect_tables_only_ever_yields_typed_errors(bool packed)
    {
        var property = Prop.ForAll(Damage, damage =>
        {
            using var h = QueueHarness.Create(packed, 8, damage.EventIdx, indirect: true, indirectEntries: 4);
            var random = new Random(damage.Seed);
            for (var i = 0; i < 5; i++)
            {
                var d = h.DataBase + ((ulong)i * 256);
                _ = h.Driver.TryAdd([new(d, 16, false), new(d + 64, 32, true)], indirect: i % 2 == 1, out _);
            }

            h.Driver.PublishAvail();
            Corrupt(h, damage.Writes, damage.WholeImage, random);
            WalkEverything(h);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000).WithQuietOnSuccess(true), property);
    }

    /// <summary>Overwrites bytes of the ring and indirect-table area (everything below the data area).</summary>
    internal static void Corrupt(QueueHarness h, (int Offset, byte Value)[] writes, bool wholeImage, Random random)
    {
        var length = (int)(h.DataBase - QueueHarness.RegionBase);
        Assert.Equal(MemoryFault.None, h.Memory.TryGetSpan(QueueHarness.RegionBase, length, out var area));
        if (wholeImage)
        {
            random.NextBytes(area);
        }

        foreach (var (offset, value) in writes)
        {
            area[offset % length] = value;
        }
    }

    private static unsafe void WalkEverything(QueueHarness h)
    {
        var region = h.Memory.Regions[0];
        var device = h.Device;
        for (var pops = 0; pops < 10 * h.Config.Size && device.TryPop(out var chain); pops++)
        {
            var walked = 0;
            while (chain.TryGetNext(out var buffer))
            {
                Assert.True(++walked <= h.Config.Size + (int)DescriptorChain.MaxIndirectEntries, "the walk did not terminate");
                Assert.Equal(MemoryFault.None, h.Memory.CheckRange(buffer.GuestAddress, buffer.Length));
                if (buffer.Host != null)
                {
                    Assert.True(buffer.Host >= region.Host && buffer.Host + buffer.Length <= region.Host + region.Size, "a host pointer outside the region");
                    Assert.True(buffer.Host - region.Host == (long)(buffer.GuestAddress - region.GuestAddress), "a host pointer that is not the guest address's");
                }
            }

            if (chain.Error != QueueError.None)
            {
                Assert.Equal(chain.Error, device.Fault);
                break;
            }

            device.AddUsed(chain.Head, 0);
            device.PublishUsed();
            _ = device.NeedsInterrupt();
        }

        _ = device.EnableNotifications();
        if (device.IsBroken)
        {
            Assert.False(device.TryPop(out _));
        }
    }
}
