using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using IoVirt.Arbitration;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Mux;
using IoVirt.Backends.Net;
using Microsoft.Extensions.Options;

namespace IoVirt.Cli;

/// <summary>
/// The <c>iovirt mux</c> config file: disks carved from one shared image (or RAM disk), network
/// devices on one switch, or both.
/// </summary>
internal sealed record MuxConfig
{
    /// <summary>The fields of each object in the file, for pointing at a misspelled one.</summary>
    private static readonly Dictionary<string, string[]> Fields = new(StringComparer.Ordinal)
    {
        [nameof(MuxConfig)] = Names(MuxConfigJson.Default.MuxConfig),
        [nameof(MuxDiskConfig)] = Names(MuxConfigJson.Default.MuxDiskConfig),
        [nameof(MuxNicConfig)] = Names(MuxConfigJson.Default.MuxNicConfig),
        [nameof(MuxCosts)] = Names(MuxConfigJson.Default.MuxCosts),
    };

    public string? Image { get; set; }

    public string? Ram { get; set; }

    /// <summary>Reads and writes bypass the page cache (O_DIRECT) where aligned, so the arbiter meets the device itself.</summary>
    public bool Direct { get; set; }

    /// <summary>How the disks reach the image, as <c>iovirt blk --engine</c> names it; null: auto.</summary>
    public string? Engine { get; set; }

    /// <summary>Each disk's io_uring rings register its guest's memory as fixed buffers, as <c>iovirt blk --fixed-buffers</c>.</summary>
    public bool FixedBuffers { get; set; }

    /// <summary>
    /// How far the image's latency per cost unit may rise above its unloaded level, while two or
    /// more disks are busy, before it is given fewer requests at once: small protects latency and
    /// the shares, large gives throughput (0.25: a quarter).
    /// </summary>
    public double LatencyTolerance { get; set; } = 0.25;

    /// <summary>What disk requests cost, in 4 KiB random reads (the unit of the IOPS figures); null: the default model.</summary>
    public MuxCosts? Costs { get; set; }

    /// <summary>Requests per second the image completes; the disks' reservations must fit in it.</summary>
    public double? CapacityIops { get; set; }

    public IReadOnlyList<MuxDiskConfig> Disks { get; set; } = [];

    /// <summary>The MTU every network device reports; the switch carries frames up to it.</summary>
    public int Mtu { get; set; } = 1500;

    public IReadOnlyList<MuxNicConfig> Nics { get; set; } = [];

    /// <summary>The TAP interface the switch's uplink is (created if missing); null: no uplink.</summary>
    public string? Uplink { get; set; }

    /// <summary>The daemon's options, which the command line takes from the file (<see cref="SettingsFileOption"/>); here only so the file may hold them.</summary>
    public string? LogLevel { get; set; }

    /// <inheritdoc cref="LogLevel"/>
    public string? LogFormat { get; set; }

    /// <inheritdoc cref="LogLevel"/>
    public string? MetricsListen { get; set; }

    /// <inheritdoc cref="LogLevel"/>
    public string? Sandbox { get; set; }

    /// <inheritdoc cref="LogLevel"/>
    public string? User { get; set; }

    /// <inheritdoc cref="LogLevel"/>
    public string? Seccomp { get; set; }

    /// <summary>Reads and checks <paramref name="path"/>; null and why when it is not a config to serve.</summary>
    public static MuxConfig? Load(string path, out ConfigError? error)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = new ConfigError(ConfigErrorKind.Unreadable, path, $"cannot read config {path}: {e.Message}");
            return null;
        }

        return Parse(text, path, out error);
    }

    /// <summary>
    /// Binds the config <paramref name="text"/> read from <paramref name="path"/> to a <see cref="MuxConfig"/>
    /// and validates it (<see cref="MuxConfigValidator"/>); null and why when it is not a config to serve.
    /// </summary>
    public static MuxConfig? Parse(string text, string path, out ConfigError? error)
    {
        MuxConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(text, MuxConfigJson.Default.MuxConfig);
        }
        catch (JsonException e)
        {
            error = new ConfigError(ConfigErrorKind.Malformed, path, ConfigErrorText.Describe(e, text, Fields));
            return null;
        }

        if (config is null)
        {
            error = new ConfigError(ConfigErrorKind.Malformed, path, "the file holds null, not an object with \"disks\", \"nics\" or both");
            return null;
        }

        var result = MuxConfigValidator.Instance.Validate(Options.DefaultName, config);
        error = result.Failed ? new ConfigError(ConfigErrorKind.Invalid, path, result.FailureMessage) : null;
        return result.Failed ? null : config;
    }

    /// <summary>What the library serves for this config (checked by <see cref="MuxConfigValidator"/>).</summary>
    public MuxSpec ToSpec() => new()
    {
        Image = Image,
        RamBytes = RamBytes,
        Direct = Direct,
        Engine = EngineKind,
        FixedBuffers = FixedBuffers,
        CapacityIops = CapacityIops ?? 0,
        LatencyTolerance = LatencyTolerance,
        Costs = Costs?.Model ?? BlkArbitration.DefaultCosts,
        Disks = [.. Disks.Select(disk => new MuxDiskSpec(disk.Name, disk.Socket, disk.SizeBytes, disk.Tenant))],
        Mtu = Mtu,
        Uplink = Uplink,
        Nics = [.. Nics.Select(nic => new MuxNicSpec(nic.Name, nic.Socket, nic.Address, (ushort)nic.Vlan, nic.Weight))],
    };

    /// <summary>The engine named, Auto when none is (checked by <see cref="MuxConfigValidator"/>).</summary>
    public BlockEngineKind EngineKind => Engine is null ? BlockEngineKind.Auto : BlkCommand.ParseEngine(Engine, out _) ?? BlockEngineKind.Auto;

    /// <summary>The RAM disk's size in bytes, when the disks are on one (checked by <see cref="MuxConfigValidator"/>).</summary>
    public ulong RamBytes => ByteSize.TryParse(Ram, out var bytes) ? bytes : 0;

    private static string[] Names(JsonTypeInfo type) => [.. type.Properties.Where(p => p.Set is not null).Select(p => p.Name)];
}

/// <summary>What disks and network devices have in common: a name and a socket of their own.</summary>
internal abstract record MuxDeviceConfig
{
    /// <summary>Unique among disks and nics; a disk's GET_ID serial, a nic's name in the switch's counters.</summary>
    public required string Name { get; set; }

    public required string Socket { get; set; }
}

/// <summary>One guest's disk: a volume of the shared image served on its own socket.</summary>
internal sealed record MuxDiskConfig : MuxDeviceConfig
{
    public required string Size { get; set; }

    public double ReservationIops { get; set; }

    public double Weight { get; set; } = 1;

    /// <summary>0: no limit.</summary>
    public double LimitIops { get; set; }

    /// <summary>The size in bytes (checked by <see cref="MuxConfigValidator"/>).</summary>
    public long SizeBytes => ByteSize.TryParse(Size, out var bytes) && bytes <= long.MaxValue ? (long)bytes : 0;

    /// <summary>What the disk is promised, in cost units a second (a 4 KiB random read costs one by default).</summary>
    public TenantSpec Tenant => new(ReservationIops, Weight, LimitIops);
}

/// <summary>One guest's network device: a port of the process's switch with a fixed MAC and VLAN.</summary>
internal sealed record MuxNicConfig : MuxDeviceConfig
{
    public const int MaxWeight = 1000;

    /// <summary>The guest's MAC, the only source address the switch takes from it.</summary>
    public required string Mac { get; set; }

    /// <summary>0: untagged; guests see only their own VLAN.</summary>
    public int Vlan { get; set; }

    /// <summary>Its share of the uplink when ports contend for it (deficit round robin).</summary>
    public int Weight { get; set; } = 1;

    /// <summary>The MAC as an address (checked by <see cref="MuxConfigValidator"/>).</summary>
    public MacAddress Address => MacAddress.TryParseUnicast(Mac, out var address) ? address : default;
}
