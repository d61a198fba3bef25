using System.Globalization;

namespace IoVirt.Cli;

/// <summary>Sizes on the command line: a byte count with an optional binary suffix (k, M, G, T; "4k" is 4096).</summary>
internal static class ByteSize
{
    public static bool TryParse(string? text, out ulong bytes)
    {
        bytes = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var shift = char.ToLowerInvariant(text[^1]) switch
        {
            'k' => 10,
            'm' => 20,
            'g' => 30,
            't' => 40,
            _ => 0,
        };
        var digits = shift == 0 ? text : text[..^1];
        if (!ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > ulong.MaxValue >> shift)
        {
            return false;
        }

        bytes = value << shift;
        return true;
    }
}
