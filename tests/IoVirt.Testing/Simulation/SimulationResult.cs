namespace IoVirt.Testing.Simulation;

/// <summary>Cost units each tenant completed in each one-second window, and the device's capacity in that window.</summary>
public sealed record SimulationResult(IReadOnlyList<string> Tenants, double[][] ServedPerWindow, double[] CapacityPerWindow)
{
    public int Windows => CapacityPerWindow.Length;

    /// <summary>Jain's fairness index of the given tenants' service in one window: 1 is perfectly even.</summary>
    public double JainIndex(int window, IReadOnlyList<int> tenants)
    {
        ArgumentNullException.ThrowIfNull(tenants);
        double sum = 0, squares = 0;
        foreach (var t in tenants)
        {
            var x = ServedPerWindow[window][t];
            sum += x;
            squares += x * x;
        }

        return squares == 0 ? 1 : sum * sum / (tenants.Count * squares);
    }

    /// <summary>A tenant's fraction of everything served in a window.</summary>
    public double Share(int window, int tenant)
    {
        var total = ServedPerWindow[window].Sum();
        return total == 0 ? 0 : ServedPerWindow[window][tenant] / total;
    }
}
