using System.Globalization;
using IoVirt.Backends.Blk.Rbd;
using IoVirt.Backends.Net;
using Microsoft.Extensions.Options;

namespace IoVirt.Cli;

/// <summary>
/// The rules a <see cref="MuxConfig"/> must meet to be served, as Microsoft.Extensions.Options
/// validation: the first rule broken is the one failure, a sentence naming the field.
/// </summary>
internal sealed class MuxConfigValidator : IValidateOptions<MuxConfig>
{
    public static MuxConfigValidator Instance { get; } = new();

    public ValidateOptionsResult Validate(string? name, MuxConfig options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // An explicit null list reads as null despite the default.
        if (options.Disks is null || options.Nics is null || options.Disks.Count + options.Nics.Count == 0 || options.Disks.Any(disk => disk is null) || options.Nics.Any(nic => nic is null))
        {
            return ValidateOptionsResult.Fail("the config needs a list of \"disks\", of \"nics\" or both");
        }

        if (options.Uplink is not null && (options.Nics.Count == 0 || !IoVirt.Interop.TapDevice.IsValidName(options.Uplink)))
        {
            return ValidateOptionsResult.Fail(options.Nics.Count == 0
                ? "\"uplink\" is for nics, and the config has none"
                : $"bad \"uplink\" '{options.Uplink}': an interface name of 1 to 15 printable characters, no slash, colon or space");
        }

        if (options.Mtu is < 68 or > 65535)
        {
            return ValidateOptionsResult.Fail($"bad \"mtu\" {options.Mtu}: 68 to 65535");
        }

        var store = ValidateStore(options);
        return store.Failed ? store : ValidateDevices(options);
    }

    /// <summary>Whether the image, RAM disk, costs and capacity can serve the disks.</summary>
    private static ValidateOptionsResult ValidateStore(MuxConfig config)
    {
        if (config.Disks.Count == 0)
        {
            return config.Image is null && config.Ram is null && config.CapacityIops is null && config.Engine is null && !config.FixedBuffers
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail("\"image\", \"ram\", \"capacityIops\", \"engine\" and \"fixedBuffers\" are for disks, and the config has none");
        }

        if (config.Engine is { } engine && BlkCommand.ParseEngine(engine, out var engines) is null)
        {
            return ValidateOptionsResult.Fail($"bad \"engine\" '{engine}': {engines}");
        }

        if ((config.Image is null) == (config.Ram is null))
        {
            return ValidateOptionsResult.Fail("the config needs one of \"image\" and \"ram\"");
        }

        if (config.Image is { } image && RbdImageSpec.Names(image) && RbdImageSpec.TryParse(image, out var why) is null)
        {
            return ValidateOptionsResult.Fail($"bad \"image\" '{image}': {why}");
        }

        if (config.Direct && config.Image is { } rbdImage && RbdImageSpec.Names(rbdImage))
        {
            return ValidateOptionsResult.Fail("\"direct\" is for an image file; volumes on Ceph have no page cache here");
        }

        if (config.Ram is not null && RamDiskSize.Check(config.RamBytes, out _) is { Length: > 0 } ram)
        {
            return ValidateOptionsResult.Fail($"bad \"ram\" '{config.Ram}': {ram}");
        }

        if (config.Costs is { } costs && !costs.PricesEveryRequest)
        {
            return ValidateOptionsResult.Fail("bad \"costs\": the fixed parts must be positive and the parts per KiB at least 0, all finite");
        }

        if (!(config.LatencyTolerance > 0) || double.IsInfinity(config.LatencyTolerance))
        {
            return ValidateOptionsResult.Fail($"bad \"latencyTolerance\" {config.LatencyTolerance.ToString(CultureInfo.InvariantCulture)}: a positive number");
        }

        return config.CapacityIops is > 0 and < double.PositiveInfinity
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"bad \"capacityIops\" {config.CapacityIops?.ToString(CultureInfo.InvariantCulture) ?? "(none)"}: a positive number");
    }

    /// <summary>Whether every disk and nic can be served, each on its own name, socket and MAC, and the disks' reservations fit.</summary>
    private static ValidateOptionsResult ValidateDevices(MuxConfig config)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var sockets = new HashSet<string>(StringComparer.Ordinal);
        var macs = new HashSet<MacAddress>();
        foreach (var device in config.Disks.Concat<MuxDeviceConfig>(config.Nics))
        {
            var own = device is MuxDiskConfig disk ? ValidateDisk(disk) : ValidateNic((MuxNicConfig)device);
            if (own.Failed)
            {
                return ValidateOptionsResult.Fail($"{(device is MuxDiskConfig ? "disk" : "nic")} '{device.Name}': {own.FailureMessage}");
            }

            if (!names.Add(device.Name))
            {
                return ValidateOptionsResult.Fail($"two devices are named '{device.Name}'");
            }

            if (!sockets.Add(Path.GetFullPath(device.Socket)))
            {
                return ValidateOptionsResult.Fail($"two devices use the socket {device.Socket}");
            }

            if (device is MuxNicConfig nic && !macs.Add(nic.Address))
            {
                return ValidateOptionsResult.Fail($"two nics have the MAC {nic.Mac}");
            }
        }

        return ValidateAdmission(config);
    }

    /// <summary>Admission control: the reservations together must fit the capacity (the scheduler checks each spec too).</summary>
    private static ValidateOptionsResult ValidateAdmission(MuxConfig config)
    {
        var reserved = 0.0;
        foreach (var disk in config.Disks)
        {
            if (reserved + disk.ReservationIops > config.CapacityIops)
            {
                return ValidateOptionsResult.Fail(string.Create(
                    CultureInfo.InvariantCulture,
                    $"disk '{disk.Name}': \"reservationIops\" {disk.ReservationIops:0.##} does not fit: the disks before it reserve {reserved:0.##} of \"capacityIops\" {config.CapacityIops:0.##}; lower the reservations or raise the capacity"));
            }

            reserved += disk.ReservationIops;
        }

        return ValidateOptionsResult.Success;
    }

    /// <summary>What disks and nics have in common: a printable name and a socket.</summary>
    private static ValidateOptionsResult ValidateDevice(MuxDeviceConfig device)
    {
        if (string.IsNullOrEmpty(device.Name) || device.Name.Length > 20 || !System.Text.Ascii.IsValid(device.Name) || device.Name.Any(char.IsControl))
        {
            return ValidateOptionsResult.Fail("a name is 1 to 20 printable ASCII characters");
        }

        return string.IsNullOrEmpty(device.Socket) ? ValidateOptionsResult.Fail("a socket path is required") : ValidateOptionsResult.Success;
    }

    private static ValidateOptionsResult ValidateDisk(MuxDiskConfig disk)
    {
        if (ValidateDevice(disk) is { Failed: true } device)
        {
            return device;
        }

        if (disk.SizeBytes <= 0 || disk.SizeBytes % 512 != 0)
        {
            return ValidateOptionsResult.Fail($"size '{disk.Size}' is not a positive whole number of 512-byte sectors");
        }

        if (!(disk.ReservationIops >= 0) || double.IsInfinity(disk.ReservationIops))
        {
            return ValidateOptionsResult.Fail("\"reservationIops\" must be 0 or more");
        }

        if (!(disk.Weight > 0) || double.IsInfinity(disk.Weight))
        {
            return ValidateOptionsResult.Fail("\"weight\" must be more than 0");
        }

        if (!(disk.LimitIops >= 0) || double.IsInfinity(disk.LimitIops))
        {
            return ValidateOptionsResult.Fail("\"limitIops\" must be 0 (no limit) or more");
        }

        return disk.LimitIops > 0 && disk.LimitIops < disk.ReservationIops
            ? ValidateOptionsResult.Fail(string.Create(CultureInfo.InvariantCulture, $"\"limitIops\" {disk.LimitIops:0.##} is below \"reservationIops\" {disk.ReservationIops:0.##}"))
            : ValidateOptionsResult.Success;
    }

    private static ValidateOptionsResult ValidateNic(MuxNicConfig nic)
    {
        if (ValidateDevice(nic) is { Failed: true } device)
        {
            return device;
        }

        if (!MacAddress.TryParseUnicast(nic.Mac, out _))
        {
            return ValidateOptionsResult.Fail($"bad mac '{nic.Mac}': six hex bytes, a unicast address");
        }

        if (nic.Vlan is < 0 or > 4094)
        {
            return ValidateOptionsResult.Fail($"bad vlan {nic.Vlan}: 0 (untagged) to 4094");
        }

        return nic.Weight is > 0 and <= MuxNicConfig.MaxWeight
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"bad weight {nic.Weight}: a whole number from 1 to {MuxNicConfig.MaxWeight}");
    }
}
