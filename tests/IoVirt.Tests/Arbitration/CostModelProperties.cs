using FsCheck;
using FsCheck.Fluent;
using IoVirt.Arbitration;

namespace IoVirt.Tests.Arbitration;

/// <summary>Fitting the disk cost model to samples the model itself produced gives the model back.</summary>
public class CostModelProperties
{
    private static readonly Arbitrary<BlockCostModel> Models =
        (from bases in Gen.ArrayOf(Gen.Choose(1_000, 2_000_000).Select(x => (double)x), 4)
         from slopes in Gen.ArrayOf(Gen.Choose(1, 20_000).Select(x => x / 1000.0), 2)
         select new BlockCostModel(bases[0], bases[1], slopes[0], bases[2], bases[3], slopes[1])).ToArbitrary();

    [Fact]
    public void Fit_recovers_the_model_that_produced_the_samples()
    {
        var sizes = new long[] { 512, 4096, 65536, 1 << 20 };
        var property = Prop.ForAll(Models, model =>
        {
            var samples = new List<(bool, bool, long, double)>();
            foreach (var write in new[] { false, true })
            {
                foreach (var sequential in new[] { false, true })
                {
                    samples.AddRange(sizes.Select(bytes => (write, sequential, bytes, model.Cost(write, sequential, bytes))));
                }
            }

            var fitted = BlockCostModel.Fit(samples);
            foreach (var (write, sequential, bytes, cost) in samples)
            {
                Assert.Equal(cost, fitted.Cost(write, sequential, bytes), cost * 1e-9);
            }

            Assert.Equal(model.ReadPerByte, fitted.ReadPerByte, 1e-9);
            Assert.Equal(model.WriteRandomBase, fitted.WriteRandomBase, model.WriteRandomBase * 1e-9);
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
