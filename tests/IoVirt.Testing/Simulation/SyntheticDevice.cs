namespace IoVirt.Testing.Simulation;

/// <summary>
/// A device for simulations: <see cref="Channels"/> requests served at once, each taking its
/// cost in nanoseconds divided by the speed at the time it starts. Capacity is
/// channels × speed × 10⁹ cost units per second; <see cref="SpeedAt"/> can change it mid-run.
/// </summary>
public sealed record SyntheticDevice(int Channels)
{
    /// <summary>Speed factor at a simulated second (1: nominal).</summary>
    public Func<double, double> SpeedAt { get; init; } = _ => 1.0;

    public double NominalCapacity => Channels * 1e9;
}
