using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using IoVirt.Arbitration;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Mux;

namespace IoVirt.Cli;

/// <summary>
/// The <c>iovirt mux</c> config file: disks carved from one shared image (or RAM disk), network
/// devices on one switch, or both.
/// </summary>
internal sealed record MuxConfig
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>The fields of each object in the file, for pointing at a misspelled one.</summary>
    private static readonly Dictionary<string, string[]> Fields = new(StringComparer.Ordinal)
    {
        [nameof(MuxConfig)] = Names<MuxConfig>(),
        [nameof(MuxDiskConfig)] = Names<MuxDiskConfig>(),
        [nameof(MuxNicConfig)] = Names<MuxNicConfig>(),
        [nameof(MuxCosts)] = Names<MuxCosts>(),
    };

    public string? Image { get; init; }

    public string? Ram { get; init; }

    /// <summary>Reads and writes bypass the page cache (O_DIRECT) where aligned, so the arbiter meets the device itself.</summary>
    public bool Direct { get; init; }

    /// <summary>
    /// How far the image's latency per cost unit may rise above its unloaded level, while two or
    /// more disks are busy, before it is given fewer requests at once: small protects latency and
    /// the shares, large gives throughput (0.25: a quarter).
    /// </summary>
    public double LatencyTolerance { get; init; } = 0.25;

    /// <summary>What disk requests cost, in 4 KiB random reads (the unit of the IOPS figures); null: the default model.</summary>
    public MuxCosts? Costs { get; init; }

    /// <summary>Requests per second the image completes; the disks' reservations must fit in it.</summary>
    public double? CapacityIops { get; init; }

    public IReadOnlyList<MuxDiskConfig> Disks { get; init; } = [];

    /// <summary>The MTU every network device reports; the switch carries frames up to it.</summary>
    public int Mtu { get; init; } = 1500;

    public IReadOnlyList<MuxNicConfig> Nics { get; init; } = [];

    /// <summary>The TAP interface the switch's uplink is (created if missing); null: no uplink.</summary>
    public string? Uplink { get; init; }

    /// <summary>Reads and checks <paramref name="path"/>; null and a reason when it is not a config to serve.</summary>
    public static MuxConfig? Load(string path, out string error)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read config {path}: {e.Message}";
            return null;
        }

        return Parse(text, path, out error);
    }

    /// <summary>Parses and checks the config <paramref name="text"/> read from <paramref name="path"/>; null and a one-line reason when it is not a config to serve.</summary>
    public static MuxConfig? Parse(string text, string path, out string error)
    {
        MuxConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<MuxConfig>(text, Json);
        }
        catch (JsonException e)
        {
            error = $"{path}: {ConfigError.Describe(e, text, Fields)}";
            return null;
        }

        error = config is null ? $"{path}: the file holds null, not an object with \"disks\", \"nics\" or both" : config.Check();
        error = error.Length == 0 || config is null ? error : ConfigError.Printable($"{path}: {error}");
        return error.Length == 0 ? config : null;
    }

    /// <summary>What the library serves for this config (checked by <see cref="Load"/>).</summary>
    public MuxSpec ToSpec() => new()
    {
        Image = Image,
        RamBytes = RamBytes,
        Direct = Direct,
        CapacityIops = CapacityIops ?? 0,
        LatencyTolerance = LatencyTolerance,
        Costs = Costs?.Model ?? BlkArbitration.DefaultCosts,
        Disks = [.. Disks.Select(disk => new MuxDiskSpec(disk.Name, disk.Socket, disk.SizeBytes, disk.Tenant))],
        Mtu = Mtu,
        Uplink = Uplink,
        Nics = [.. Nics.Select(nic => new MuxNicSpec(nic.Name, nic.Socket, nic.MacBytes, nic.Mac, (ushort)nic.Vlan, nic.Weight))],
    };

    /// <summary>The RAM disk's size in bytes, when the disks are on one (checked by <see cref="Load"/>).</summary>
    public ulong RamBytes => ByteSize.TryParse(Ram, out var bytes) ? bytes : 0;

    /// <summary>Why the config cannot be served, or empty.</summary>
    private string Check()
    {
        // An explicit null list reads as null despite the default.
        if (Disks is null || Nics is null || Disks.Count + Nics.Count == 0 || Disks.Any(disk => disk is null) || Nics.Any(nic => nic is null))
        {
            return "the config needs a list of \"disks\", of \"nics\" or both";
        }

        if (Uplink is not null && (Nics.Count == 0 || !IoVirt.Interop.TapDevice.IsValidName(Uplink)))
        {
            return Nics.Count == 0 ? "\"uplink\" is for nics, and the config has none" : $"bad \"uplink\" '{Uplink}': an interface name of 1 to 15 printable characters, no slash, colon or space";
        }

        if (Mtu is < 68 or > 65535)
        {
            return $"bad \"mtu\" {Mtu}: 68 to 65535";
        }

        return CheckStore() is { Length: > 0 } problem ? problem : CheckDevices();
    }

    /// <summary>Why the image, RAM disk or capacity cannot serve the disks, or empty.</summary>
    private string CheckStore()
    {
        if (Disks.Count == 0)
        {
            return Image is null && Ram is null && CapacityIops is null ? string.Empty : "\"image\", \"ram\" and \"capacityIops\" are for disks, and the config has none";
        }

        if ((Image is null) == (Ram is null))
        {
            return "the config needs one of \"image\" and \"ram\"";
        }

        if (Ram is not null && RamDiskSize.Check(RamBytes, out _) is { Length: > 0 } ram)
        {
            return $"bad \"ram\" '{Ram}': {ram}";
        }

        if (Costs?.Check() is { Length: > 0 } costs)
        {
            return $"bad \"costs\": {costs}";
        }

        if (!(LatencyTolerance > 0) || double.IsInfinity(LatencyTolerance))
        {
            return $"bad \"latencyTolerance\" {LatencyTolerance.ToString(CultureInfo.InvariantCulture)}: a positive number";
        }

        return CapacityIops is > 0 and < double.PositiveInfinity ? string.Empty : $"bad \"capacityIops\" {CapacityIops?.ToString(CultureInfo.InvariantCulture) ?? "(none)"}: a positive number";
    }

    /// <summary>Why some disk or network device cannot be served, or empty.</summary>
    private string CheckDevices()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var sockets = new HashSet<string>(StringComparer.Ordinal);
        var macs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var device in Disks.Concat<MuxDeviceConfig>(Nics))
        {
            if (device.Check() is { Length: > 0 } problem)
            {
                return $"{(device is MuxDiskConfig ? "disk" : "nic")} '{device.Name}': {problem}";
            }

            if (!names.Add(device.Name))
            {
                return $"two devices are named '{device.Name}'";
            }

            if (!sockets.Add(Path.GetFullPath(device.Socket)))
            {
                return $"two devices use the socket {device.Socket}";
            }

            if (device is MuxNicConfig nic && !macs.Add(Convert.ToHexString(nic.MacBytes)))
            {
                return $"two nics have the MAC {nic.Mac}";
            }
        }

        return Disks.Count == 0 ? string.Empty : CheckAdmission();
    }

    /// <summary>Admission control: the reservations together must fit the capacity (the scheduler checks each spec too).</summary>
    private string CheckAdmission()
    {
        var reserved = 0.0;
        foreach (var disk in Disks)
        {
            if (reserved + disk.ReservationIops > CapacityIops)
            {
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"disk '{disk.Name}': \"reservationIops\" {disk.ReservationIops:0.##} does not fit: the disks before it reserve {reserved:0.##} of \"capacityIops\" {CapacityIops:0.##}; lower the reservations or raise the capacity");
            }

            reserved += disk.ReservationIops;
        }

        return string.Empty;
    }

    private static string[] Names<T>() =>
        [.. typeof(T).GetProperties().Where(p => p.CanWrite).Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name))];
}

/// <summary>What disks and network devices have in common: a name and a socket of their own.</summary>
internal abstract record MuxDeviceConfig
{
    /// <summary>Unique among disks and nics; a disk's GET_ID serial, a nic's name in the switch's counters.</summary>
    public required string Name { get; init; }

    public required string Socket { get; init; }

    /// <summary>Why the device cannot be served, or empty.</summary>
    public virtual string Check()
    {
        if (string.IsNullOrEmpty(Name) || Name.Length > 20 || !System.Text.Ascii.IsValid(Name) || Name.Any(char.IsControl))
        {
            return "a name is 1 to 20 printable ASCII characters";
        }

        return string.IsNullOrEmpty(Socket) ? "a socket path is required" : string.Empty;
    }
}

/// <summary>One guest's disk: a volume of the shared image served on its own socket.</summary>
internal sealed record MuxDiskConfig : MuxDeviceConfig
{
    public required string Size { get; init; }

    public double ReservationIops { get; init; }

    public double Weight { get; init; } = 1;

    /// <summary>0: no limit.</summary>
    public double LimitIops { get; init; }

    /// <summary>The size in bytes (checked by <see cref="MuxConfig.Load"/>).</summary>
    public long SizeBytes => ByteSize.TryParse(Size, out var bytes) && bytes <= long.MaxValue ? (long)bytes : 0;

    /// <summary>What the disk is promised, in cost units a second (a 4 KiB random read costs one by default).</summary>
    public TenantSpec Tenant => new(ReservationIops, Weight, LimitIops);

    public override string Check()
    {
        if (base.Check() is { Length: > 0 } problem)
        {
            return problem;
        }

        if (SizeBytes <= 0 || SizeBytes % 512 != 0)
        {
            return $"size '{Size}' is not a positive whole number of 512-byte sectors";
        }

        if (!(ReservationIops >= 0) || double.IsInfinity(ReservationIops))
        {
            return "\"reservationIops\" must be 0 or more";
        }

        if (!(Weight > 0) || double.IsInfinity(Weight))
        {
            return "\"weight\" must be more than 0";
        }

        if (!(LimitIops >= 0) || double.IsInfinity(LimitIops))
        {
            return "\"limitIops\" must be 0 (no limit) or more";
        }

        return LimitIops > 0 && LimitIops < ReservationIops
            ? string.Create(CultureInfo.InvariantCulture, $"\"limitIops\" {LimitIops:0.##} is below \"reservationIops\" {ReservationIops:0.##}")
            : string.Empty;
    }
}

/// <summary>One guest's network device: a port of the process's switch with a fixed MAC and VLAN.</summary>
internal sealed record MuxNicConfig : MuxDeviceConfig
{
    public const int MaxWeight = 1000;

    /// <summary>The guest's MAC, the only source address the switch takes from it.</summary>
    public required string Mac { get; init; }

    /// <summary>0: untagged; guests see only their own VLAN.</summary>
    public int Vlan { get; init; }

    /// <summary>Its share of the uplink when ports contend for it (deficit round robin).</summary>
    public int Weight { get; init; } = 1;

    /// <summary>The MAC's bytes (checked by <see cref="MuxConfig.Load"/>).</summary>
    public byte[] MacBytes => MacAddress.TryParseUnicast(Mac, out var mac) ? mac : [];

    public override string Check()
    {
        if (base.Check() is { Length: > 0 } problem)
        {
            return problem;
        }

        if (!MacAddress.TryParseUnicast(Mac, out _))
        {
            return $"bad mac '{Mac}': six hex bytes, a unicast address";
        }

        if (Vlan is < 0 or > 4094)
        {
            return $"bad vlan {Vlan}: 0 (untagged) to 4094";
        }

        return Weight is > 0 and <= MaxWeight ? string.Empty : $"bad weight {Weight}: a whole number from 1 to {MaxWeight}";
    }
}
