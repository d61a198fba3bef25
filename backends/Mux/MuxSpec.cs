using IoVirt.Arbitration;
using IoVirt.Backends.Net;

namespace IoVirt.Backends.Mux;

/// <summary>
/// What a <see cref="Multiplexer"/> serves, already checked: disks carved from one image (or
/// RAM disk) and sharing it by their tenant specs, and nics on one switch. Parsing a config
/// file into it is the caller's business.
/// </summary>
public sealed record MuxSpec
{
    /// <summary>Fewest requests the shared image is given at once, however much its latency grows.</summary>
    public const int WindowMinimum = 2;

    /// <summary>Most requests the shared image is given at once, however well it keeps up.</summary>
    public const int WindowMaximum = 256;

    /// <summary>The raw image or block device the disks' volumes live on; null: a RAM disk of <see cref="RamBytes"/>.</summary>
    public string? Image { get; init; }

    /// <summary>The RAM disk's size, when there is no <see cref="Image"/>.</summary>
    public ulong RamBytes { get; init; }

    /// <summary>O_DIRECT on the image for aligned requests, so the arbiter meets the device rather than the page cache.</summary>
    public bool Direct { get; init; }

    /// <summary>How the disks reach the image; resolved as <see cref="IoVirt.Backends.Blk.IBlockImage.ResolveEngine"/> does.</summary>
    public Blk.BlockEngineKind Engine { get; init; }

    /// <summary>
    /// Each disk's queues register its guest's memory with their io_uring rings as fixed buffers
    /// (<see cref="Blk.BlkDeviceOptions.FixedBuffers"/>); only where the engine resolves to uring.
    /// </summary>
    public bool FixedBuffers { get; init; }

    /// <summary>Cost units a second the image completes; the disks' reservations fit in it.</summary>
    public double CapacityIops { get; init; }

    /// <summary>How far the image's latency per cost may rise above its unloaded level, while two or more disks are busy, before it is given fewer requests at once.</summary>
    public double LatencyTolerance { get; init; } = 0.25;

    /// <summary>What disk requests cost, in 4 KiB random reads.</summary>
    public BlockCostModel Costs { get; init; } = Blk.BlkArbitration.DefaultCosts;

    public IReadOnlyList<MuxDiskSpec> Disks { get; init; } = [];

    /// <summary>The MTU every nic reports; the switch carries frames up to it.</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>The TAP interface that is the switch's uplink (created if missing); null: none.</summary>
    public string? Uplink { get; init; }

    public IReadOnlyList<MuxNicSpec> Nics { get; init; } = [];
}

/// <summary>One guest's disk: a volume of <paramref name="SizeBytes"/> named <paramref name="Name"/> (its GET_ID serial too), served on <paramref name="Socket"/>.</summary>
public sealed record MuxDiskSpec(string Name, string Socket, long SizeBytes, TenantSpec Tenant);

/// <summary>One guest's nic: a switch port with the fixed <paramref name="Mac"/> on <paramref name="Vlan"/>, and its <paramref name="Weight"/> at the uplink.</summary>
public sealed record MuxNicSpec(string Name, string Socket, MacAddress Mac, ushort Vlan, int Weight);
