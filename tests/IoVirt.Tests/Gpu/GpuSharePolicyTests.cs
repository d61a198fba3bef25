using IoVirt.Arbitration;
using IoVirt.Backends.Gpu.Sharing;

namespace IoVirt.Tests.Gpu;

/// <summary>The GPU-sharing modes as mClock shares, and the modes that do not fit.</summary>
public class GpuSharePolicyTests
{
    [Fact]
    public void Best_effort_is_equal_weights_with_no_floor_or_ceiling() =>
        Assert.All(GpuSharePolicy.Parse("best-effort", 3, out _)!, spec => Assert.Equal(new TenantSpec(0, 1, 0), spec));

    [Theory]
    [InlineData("equal", 4, 4)]
    [InlineData("fixed:8", 3, 8)]
    public void Equal_and_fixed_shares_are_both_floor_and_ceiling(string mode, int guests, int slots)
    {
        var specs = GpuSharePolicy.Parse(mode, guests, out _)!;
        Assert.Equal(guests, specs.Length);
        Assert.All(specs, spec =>
        {
            Assert.Equal(GpuTurnTable.Capacity / slots, spec.Limit);
            Assert.Equal(spec.Limit, spec.Reservation, spec.Limit * 1e-6);
        });

        // All of them fit the GPU, so none is refused admission.
        var scheduler = new MClockScheduler(GpuTurnTable.Capacity);
        Assert.All(specs, spec => scheduler.AddTenant(spec));
    }

    [Fact]
    public void Weighted_gives_each_guest_its_weight_in_order()
    {
        var specs = GpuSharePolicy.Parse("weighted:1,2,4.5", 3, out _)!;
        Assert.Equal([1, 2, 4.5], specs.Select(spec => spec.Weight));
        Assert.All(specs, spec => Assert.Equal((0.0, 0.0), (spec.Reservation, spec.Limit)));
    }

    [Theory]
    [InlineData("weighted:1,2", 3, "2 weights for 3 guests")]
    [InlineData("weighted:1,0,2", 3, "weight '0' is not a positive number")]
    [InlineData("weighted:1,x,2", 3, "weight 'x' is not a positive number")]
    [InlineData("fixed:2", 3, "fewer slots than the 3 guests")]
    [InlineData("fixed:0", 1, "is not a mode")]
    [InlineData("equal:2", 2, "is not a mode")]
    [InlineData("round-robin", 2, "is not a mode")]
    public void Modes_that_do_not_fit_say_why(string mode, int guests, string why)
    {
        Assert.Null(GpuSharePolicy.Parse(mode, guests, out var reason));
        Assert.Contains(why, reason, StringComparison.Ordinal);
    }
}
