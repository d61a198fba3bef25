using System.Text;
using System.Text.RegularExpressions;
using IoVirt.Backends.Net;
using IoVirt.Cli;

namespace IoVirt.Fuzz;

/// <summary>
/// The <c>mux-config</c> target: any bytes as an <c>iovirt mux</c> config file. Parsing must
/// never throw. A refused file gets one line in the user's terms (no line breaks, no .NET type,
/// member or reader detail); an accepted one must meet every documented rule, checked here
/// again on its own: unique names, sockets and MACs, names of 1 to 20 printable ASCII
/// characters, whole-sector sizes, reservations within the capacity, limits at least the
/// reservation, VLANs, weights and the MTU in range.
/// </summary>
public static partial class MuxConfigTarget
{
    public const string Name = "mux-config";

    /// <summary>True when the input was accepted as a config.</summary>
    public static bool Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        var config = MuxConfig.Parse(text, "fuzz.json", out var error);
        if (config is null)
        {
            if (error is null || error.Reason.Length == 0 || error.Line.Contains('\n', StringComparison.Ordinal) || Internals().IsMatch(error.Line))
            {
                throw new FuzzInvariantException($"refused with an unreadable error: '{error}'");
            }

            return false;
        }

        if (error is not null)
        {
            throw new FuzzInvariantException($"accepted with an error: '{error}'");
        }

        CheckAccepted(config);
        return true;
    }

    private static void CheckAccepted(MuxConfig config)
    {
        var devices = config.Disks.Cast<MuxDeviceConfig>().Concat(config.Nics).ToArray();
        if (devices.Length == 0)
        {
            throw new FuzzInvariantException("accepted with no device");
        }

        Unique(devices.Select(d => d.Name), "name");
        Unique(devices.Select(d => Path.GetFullPath(d.Socket)), "socket");
        Unique(config.Nics.Select(n => n.Address.ToString()), "MAC");
        foreach (var device in devices)
        {
            if (device.Name.Length is 0 or > 20 || !device.Name.All(c => c is >= ' ' and <= '~'))
            {
                throw new FuzzInvariantException($"accepted the name '{device.Name}'");
            }
        }

        if (config.Mtu is < 68 or > 65535)
        {
            throw new FuzzInvariantException($"accepted MTU {config.Mtu}");
        }

        foreach (var nic in config.Nics)
        {
            if (nic.Vlan is < 0 or > 4094 || nic.Weight is < 1 or > MuxNicConfig.MaxWeight || !MacAddress.TryParseUnicast(nic.Mac, out _))
            {
                throw new FuzzInvariantException($"accepted nic {nic}");
            }
        }

        var reserved = 0.0;
        foreach (var disk in config.Disks)
        {
            if (disk.SizeBytes <= 0 || disk.SizeBytes % 512 != 0 || disk.ReservationIops < 0 || !(disk.Weight > 0)
                || disk.LimitIops < 0 || (disk.LimitIops > 0 && disk.LimitIops < disk.ReservationIops))
            {
                throw new FuzzInvariantException($"accepted disk {disk}");
            }

            reserved += disk.ReservationIops;
        }

        if (config.Disks.Count > 0 && !(reserved <= config.CapacityIops))
        {
            throw new FuzzInvariantException($"accepted reservations of {reserved} in a capacity of {config.CapacityIops}");
        }
    }

    private static void Unique(IEnumerable<string> values, string what)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            if (!seen.Add(value))
            {
                throw new FuzzInvariantException($"accepted two devices with the {what} {value}");
            }
        }
    }

    /// <summary>Seeds: the README's and the help's configs, a nic-only one, costs and a RAM disk.</summary>
    public static int WriteSeeds(string directory)
    {
        string[] seeds =
        [
            """{ "image": "/tmp/shared.img", "capacityIops": 20000, "disks": [ { "name": "vm1", "socket": "/tmp/vm1.sock", "size": "64M", "weight": 2 }, { "name": "vm2", "socket": "/tmp/vm2.sock", "size": "64M", "limitIops": 5000 } ] }""",
            """{ "image": "/tmp/guests.img", "direct": true, "capacityIops": 60000, "latencyTolerance": 0.25, "disks": [ { "name": "vm1", "socket": "/tmp/vm1.sock", "size": "10G", "reservationIops": 5000, "weight": 2, "limitIops": 20000 } ], "mtu": 1500, "uplink": "tap0", "nics": [ { "name": "vm1-net", "socket": "/tmp/vm1-net.sock", "mac": "02:00:00:00:00:01", "vlan": 0, "weight": 1 } ] }""",
            """{ "nics": [ { "name": "a", "socket": "a", "mac": "02:00:00:00:00:01", "vlan": 10 }, { "name": "b", "socket": "b", "mac": "02:00:00:00:00:02", "weight": 3 } ] }""",
            """{ "ram": "64M", "capacityIops": 1000, "costs": { "readRandom": 0.75, "readSequential": 0.25, "readPerKiB": 0.0625 }, "disks": [ { "name": "d", "socket": "d", "size": "16M" } ] }""",
            "{\n  // a comment\n  \"ram\": \"4M\", \"capacityIops\": 1,\n  \"disks\": [ { \"name\": \"a\", \"socket\": \"a\", \"size\": \"1M\" } ]\n}",
        ];
        return SeedFiles.Write(directory, "seed", seeds.Select(System.Text.Encoding.UTF8.GetBytes));
    }

    /// <summary>What must never reach a person reading an error: .NET type names and the JSON reader's own position words.</summary>
    [GeneratedRegex(@"IoVirt\.|System\.|\.NET|LineNumber|BytePositionInLine|isFinalBlock")]
    private static partial Regex Internals();
}
