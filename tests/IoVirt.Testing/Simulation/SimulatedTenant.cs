using IoVirt.Arbitration;

namespace IoVirt.Testing.Simulation;

/// <summary>
/// A tenant's load in a simulation: <see cref="Depth"/> requests of <see cref="Cost"/> kept
/// outstanding (a closed loop, like a guest at a fixed queue depth) while active, between
/// <see cref="ActiveFrom"/> and <see cref="ActiveUntil"/> (seconds of simulated time).
/// </summary>
public sealed record SimulatedTenant(string Name, TenantSpec Spec, double Cost, int Depth)
{
    public double ActiveFrom { get; init; }

    public double ActiveUntil { get; init; } = double.PositiveInfinity;
}
