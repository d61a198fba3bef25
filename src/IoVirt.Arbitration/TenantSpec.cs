namespace IoVirt.Arbitration;

/// <summary>
/// What one tenant is promised, in cost units per second (for a disk, 4 KiB random reads a second,
/// see <see cref="BlockCostModel"/>): at least
/// <see cref="Reservation"/> when it has work, at most <see cref="Limit"/> (0: no limit), and
/// a share of what is left over in proportion to <see cref="Weight"/>.
/// </summary>
public readonly record struct TenantSpec(double Reservation, double Weight, double Limit)
{
    /// <summary>Throws for a spec that cannot be honoured whatever the capacity.</summary>
    public void Validate()
    {
        if (!(Reservation >= 0) || !(Weight > 0) || !(Limit >= 0) || double.IsInfinity(Reservation) || double.IsInfinity(Weight) || double.IsInfinity(Limit))
        {
            throw new ArgumentException($"A tenant needs reservation ≥ 0, weight > 0 and limit ≥ 0, all finite: {this}.");
        }

        if (Limit > 0 && Limit < Reservation)
        {
            throw new ArgumentException($"A tenant's limit ({Limit}) is below its reservation ({Reservation}).");
        }
    }
}
