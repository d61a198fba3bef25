using System.Text.Json;
using System.Text.Json.Serialization;
using IoVirt.Arbitration;

namespace IoVirt.Cli;

/// <summary>The <c>iovirt mux</c> config file: one shared image (or RAM disk) and the disks carved from it.</summary>
internal sealed record MuxConfig
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public string? Image { get; init; }

    public string? Ram { get; init; }

    /// <summary>Reads and writes bypass the page cache (O_DIRECT) where aligned, so the arbiter meets the device itself.</summary>
    public bool Direct { get; init; }

    /// <summary>
    /// How far the image's latency per cost unit may rise above its unloaded level, while two or
    /// more disks are busy, before it is given fewer requests at once: small protects latency,
    /// large gives throughput (0.25: a quarter).
    /// </summary>
    public double LatencyTolerance { get; init; } = 0.25;

    /// <summary>Fewest requests the shared image is given at once, however much its latency grows.</summary>
    public const int WindowMinimum = 2;

    /// <summary>Most requests the shared image is given at once, however well it keeps up.</summary>
    public const int WindowMaximum = 256;

    /// <summary>Requests per second the image completes; the disks' reservations must fit in it.</summary>
    public required double CapacityIops { get; init; }

    public required IReadOnlyList<MuxDiskConfig> Disks { get; init; }

    /// <summary>Reads and checks <paramref name="path"/>; null and a reason when it is not a config to serve.</summary>
    public static MuxConfig? Load(string path, out string error)
    {
        MuxConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<MuxConfig>(File.ReadAllText(path), Json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            error = $"cannot read config {path}: {e.Message}";
            return null;
        }

        error = config is null ? $"config {path} is null" : config.Check();
        return error.Length == 0 ? config : null;
    }

    /// <summary>The RAM disk's size in bytes, when the disks are on one (checked by <see cref="Load"/>).</summary>
    public ulong RamBytes => ByteSize.TryParse(Ram, out var bytes) ? bytes : 0;

    /// <summary>Why the config cannot be served, or empty.</summary>
    private string Check()
    {
        if ((Image is null) == (Ram is null))
        {
            return "the config needs one of \"image\" and \"ram\"";
        }

        if (Ram is not null && (RamBytes == 0 || RamBytes % 512 != 0))
        {
            return $"bad \"ram\" '{Ram}': a positive multiple of 512 bytes";
        }

        if (!(CapacityIops > 0) || double.IsInfinity(CapacityIops))
        {
            return $"bad \"capacityIops\" {CapacityIops}: a positive number";
        }

        if (!(LatencyTolerance > 0) || double.IsInfinity(LatencyTolerance))
        {
            return $"bad \"latencyTolerance\" {LatencyTolerance}: a positive number";
        }

        if (Disks is not { Count: > 0 } || Disks.Any(disk => disk is null))
        {
            return "the config needs a list of \"disks\"";
        }

        // Admission control: the reservations together must fit the capacity (the scheduler checks each spec too).
        var admission = new MClockScheduler(MonotonicClock.Instance, CapacityIops);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var sockets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var disk in Disks)
        {
            if (disk.Check() is { Length: > 0 } problem)
            {
                return $"disk '{disk.Name}': {problem}";
            }

            if (!names.Add(disk.Name))
            {
                return $"two disks are named '{disk.Name}'";
            }

            if (!sockets.Add(Path.GetFullPath(disk.Socket)))
            {
                return $"two disks use the socket {disk.Socket}";
            }

            try
            {
                admission.AddTenant(disk.Tenant);
            }
            catch (Exception e) when (e is ArgumentException or AdmissionRefusedException)
            {
                return $"disk '{disk.Name}': {e.Message}";
            }
        }

        return string.Empty;
    }
}

/// <summary>One guest's disk: a volume of the shared image served on its own socket.</summary>
internal sealed record MuxDiskConfig
{
    /// <summary>The volume's name, also the disk's GET_ID serial.</summary>
    public required string Name { get; init; }

    public required string Socket { get; init; }

    public required string Size { get; init; }

    public double ReservationIops { get; init; }

    public double Weight { get; init; } = 1;

    /// <summary>0: no limit.</summary>
    public double LimitIops { get; init; }

    /// <summary>The size in bytes (checked by <see cref="MuxConfig.Load"/>).</summary>
    public long SizeBytes => ByteSize.TryParse(Size, out var bytes) && bytes <= long.MaxValue ? (long)bytes : 0;

    /// <summary>What the disk is promised, one request costing one unit.</summary>
    public TenantSpec Tenant => new(ReservationIops, Weight, LimitIops);

    /// <summary>Why the disk cannot be served, or empty.</summary>
    public string Check()
    {
        if (string.IsNullOrEmpty(Name) || Name.Length > 20 || !System.Text.Ascii.IsValid(Name) || Name.Any(char.IsControl))
        {
            return "a name is 1 to 20 printable ASCII characters";
        }

        if (string.IsNullOrEmpty(Socket))
        {
            return "a socket path is required";
        }

        return SizeBytes <= 0 || SizeBytes % 512 != 0 ? $"size '{Size}' is not a positive whole number of 512-byte sectors" : string.Empty;
    }
}
