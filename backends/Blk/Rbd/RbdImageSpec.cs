using System.Globalization;

namespace IoVirt.Backends.Blk.Rbd;

/// <summary>
/// Where an RBD image is and how to reach it, as written on a command line:
/// <c>rbd:POOL/IMAGE[,conf=FILE][,id=USER][,timeout=SECONDS]</c>. Without conf, librados looks
/// in its default places (/etc/ceph/ceph.conf); without id, the user is client.admin. timeout
/// ends an OSD request that waits longer with an I/O error; without it, requests wait for the
/// cluster to come back, as QEMU's do.
/// </summary>
public sealed record RbdImageSpec(string Pool, string Image, string? ConfigFile = null, string? User = null, TimeSpan? OsdTimeout = null)
{
    public const string Prefix = "rbd:";

    /// <summary>Whether <paramref name="text"/> names an RBD image rather than a file.</summary>
    public static bool Names(string text) => text.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Parses <paramref name="text"/>; null and a reason when it is not a valid spec.</summary>
    public static RbdImageSpec? TryParse(string text, out string why)
    {
        ArgumentNullException.ThrowIfNull(text);
        why = string.Empty;
        if (!Names(text))
        {
            why = $"an RBD image is written {Prefix}POOL/IMAGE[,conf=FILE][,id=USER][,timeout=SECONDS]";
            return null;
        }

        var parts = text[Prefix.Length..].Split(',');
        var names = parts[0].Split('/');
        if (names.Length != 2 || names[0].Length == 0 || names[1].Length == 0)
        {
            why = $"'{parts[0]}' is not POOL/IMAGE";
            return null;
        }

        var spec = new RbdImageSpec(names[0], names[1]);
        foreach (var part in parts.AsSpan(1))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var (key, value) = equals < 0 ? (part, string.Empty) : (part[..equals], part[(equals + 1)..]);
            if (value.Length == 0)
            {
                why = $"'{part}' is not KEY=VALUE";
                return null;
            }

            switch (key)
            {
                case "conf":
                    spec = spec with { ConfigFile = value };
                    break;
                case "id":
                    spec = spec with { User = value };
                    break;
                case "timeout" when uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 86400:
                    spec = spec with { OsdTimeout = TimeSpan.FromSeconds(seconds) };
                    break;
                case "timeout":
                    why = $"timeout '{value}' is not a whole number of seconds from 1 to 86400";
                    return null;
                default:
                    why = $"'{key}' is not an option of an RBD image (conf, id, timeout)";
                    return null;
            }
        }

        return spec;
    }

    public override string ToString() => $"{Prefix}{Pool}/{Image}";
}
