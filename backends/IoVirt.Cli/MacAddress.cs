using System.Globalization;

namespace IoVirt.Cli;

/// <summary>MAC addresses as options and config files write them: six hex bytes with colons.</summary>
internal static class MacAddress
{
    /// <summary>Parses <paramref name="text"/> (e.g. 52:54:00:12:34:56); false unless it is a unicast address.</summary>
    public static bool TryParseUnicast(string? text, out byte[] mac)
    {
        mac = new byte[6];
        var parts = text?.Split(':') ?? [];
        if (parts.Length != 6)
        {
            return false;
        }

        for (var i = 0; i < 6; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out mac[i]))
            {
                return false;
            }
        }

        return (mac[0] & 1) == 0;
    }
}
