namespace IoVirt.Cli;

/// <summary>The <c>key=value,key=value</c> text of a device option (<c>--disk</c>, <c>--net</c>, <c>--vhost-user</c>).</summary>
internal static class DeviceOptionText
{
    /// <summary>The pairs in order; a part without '=' has an empty value.</summary>
    public static IEnumerable<(string Key, string Value)> Pairs(string text)
    {
        foreach (var part in text.Split(','))
        {
            var eq = part.IndexOf('=');
            yield return eq > 0 ? (part[..eq], part[(eq + 1)..]) : (part, string.Empty);
        }
    }

    /// <summary>An on/off switch's value; null when it is neither.</summary>
    public static bool? Switch(string value) => value switch
    {
        "on" => true,
        "off" => false,
        _ => null,
    };
}
