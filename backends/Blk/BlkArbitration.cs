using IoVirt.Arbitration;

namespace IoVirt.Backends.Blk;

/// <summary>
/// How a device on a shared image takes its turn: the <paramref name="Arbiter"/> of the image,
/// the device's <paramref name="Tenant"/> there, and what its operations cost, in cost units
/// (<see cref="BlockCostModel"/>: one is a 4 KiB random read), the unit of the tenants'
/// reservations and limits.
/// </summary>
public sealed record BlkArbitration(DeviceArbiter Arbiter, int Tenant, BlockCostModel Costs)
{
    /// <summary>
    /// Cost units a mux config gets unless it sets its own: a fixed part of 3/4 for a
    /// random request and 1/4 for a sequential one, plus 1/4 per 4 KiB moved, the same both ways.
    /// A FLUSH or a discard costs one random write.
    /// </summary>
    public static BlockCostModel DefaultCosts { get; } = new(0.75, 0.25, 0.25 / 4096, 0.75, 0.25, 0.25 / 4096);
}
