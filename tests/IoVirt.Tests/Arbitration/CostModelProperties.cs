using FsCheck;
using FsCheck.Fluent;
using IoVirt.Arbitration;

namespace IoVirt.Tests.Arbitration;

/// <summary>Fitting the disk cost model to device times a model produced gives that model back, in cost units.</summary>
public class CostModelProperties
{
    private static readonly Arbitrary<BlockCostModel> Models =
        (from bases in Gen.ArrayOf(Gen.Choose(1_000, 2_000_000).Select(x => (double)x), 4)
         from slopes in Gen.ArrayOf(Gen.Choose(1, 20_000).Select(x => x / 1000.0), 2)
         select new BlockCostModel(bases[0], bases[1], slopes[0], bases[2], bases[3], slopes[1])).ToArbitrary();

    [Fact]
    public void Fit_recovers_the_model_that_produced_the_samples_scaled_to_a_4k_random_read()
    {
        var sizes = new long[] { 512, 4096, 65536, 1 << 20 };
        var property = Prop.ForAll(Models, model =>
        {
            var samples = new List<(bool, bool, long, double)>();
            foreach (var write in new[] { false, true })
            {
                foreach (var sequential in new[] { false, true })
                {
                    samples.AddRange(sizes.Select(bytes => (write, sequential, bytes, model.CostUnits(write, sequential, bytes))));
                }
            }

            // The generated model's costs read as nanoseconds; the fit says them in 4 KiB random reads.
            var fitted = BlockCostModel.Fit(samples);
            var unit = model.CostUnits(write: false, sequential: false, BlockCostModel.UnitReadBytes);
            Assert.Equal(1.0, fitted.CostUnits(write: false, sequential: false, BlockCostModel.UnitReadBytes), 1e-9);
            foreach (var (write, sequential, bytes, nanoseconds) in samples)
            {
                Assert.Equal(nanoseconds / unit, fitted.CostUnits(write, sequential, bytes), nanoseconds / unit * 1e-9);
            }

            Assert.Equal(model.ReadPerByte / unit, fitted.ReadPerByte, 1e-12);
            Assert.Equal(model.WriteRandomBase / unit, fitted.WriteRandomBase, model.WriteRandomBase / unit * 1e-9);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void Fit_refuses_samples_that_cannot_separate_base_and_slope()
    {
        var oneSize = new[] { (false, false, 4096L, 100.0), (false, true, 4096L, 90.0), (true, false, 4096L, 200.0), (true, true, 4096L, 150.0) };
        Assert.Throws<ArgumentException>(() => BlockCostModel.Fit(oneSize));
    }
}
