using IoVirt.Arbitration;

namespace IoVirt.Backends.Net.Switching;

/// <summary>How a <see cref="NetSwitch"/> learns what is behind its uplink, shares the uplink among its ports, and shares each port's receiving among its senders.</summary>
public sealed class UplinkOptions
{
    /// <summary>MACs (per VLAN) the uplink may have learned at once; beyond that new ones are refused, counted and flooded to.</summary>
    public int MaxLearned { get; init; } = 1024;

    /// <summary>How long a learned MAC stays without being seen again (Linux bridges default to 300 s).</summary>
    public TimeSpan Aging { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>Frames each port may have waiting for the uplink; more are dropped and counted.</summary>
    public int QueueFrames { get; init; } = 256;

    /// <summary>The uplink's shares of each port's receiving, against the weights of the ports sending to it.</summary>
    public int Weight { get; init; } = 1;

    /// <summary>
    /// What a frame costs the uplink or a port's receiving, in nanoseconds: senders share each by this cost, weighted.
    /// The default is a rough figure for a software path, where the fixed cost per frame dominates.
    /// </summary>
    public NetCostModel Cost { get; init; } = new(PerPacket: 250, PerByte: 0.25);

    /// <summary>The clock learned MACs age by (a fake one in tests).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLearned, 0);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Aging, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Aging.Ticks, long.MaxValue / 100, nameof(Aging)); // kept in nanoseconds
        ArgumentOutOfRangeException.ThrowIfLessThan(QueueFrames, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(Weight, 1);
        if (!(Cost.Cost(0) > 0) || !(Cost.PerByte >= 0))
        {
            throw new ArgumentException($"a frame must cost more than nothing: {Cost}", nameof(Cost));
        }
    }
}
