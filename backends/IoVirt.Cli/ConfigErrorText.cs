using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace IoVirt.Cli;

/// <summary>
/// Turns what System.Text.Json says about a config file into one line for the person who wrote
/// it: the line (1-based) and field, what was expected, and for a misspelled field the known
/// one it is closest to. No .NET type or member name reaches the user.
/// </summary>
internal static partial class ConfigErrorText
{
    /// <summary>One line describing <paramref name="error"/> in the JSON <paramref name="text"/>; <paramref name="known"/> lists each object's fields by the type's name.</summary>
    public static string Describe(JsonException error, string text, IReadOnlyDictionary<string, string[]> known)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (string.IsNullOrWhiteSpace(text) || error.Message.Contains("does not contain any JSON tokens", StringComparison.Ordinal))
        {
            return "the file is empty (or only comments): it needs a JSON object with \"disks\", \"nics\" or both";
        }

        var message = error.Message;
        var where = error.LineNumber is { } line ? $"line {line + 1}: " : string.Empty;
        var field = Field(error.Path);
        if (UnmappedProperty().Match(message) is { Success: true } unmapped)
        {
            var name = unmapped.Groups["name"].Value;
            var type = unmapped.Groups["type"].Value;
            var fields = known.TryGetValue(type[(type.LastIndexOf('.') + 1)..], out var list) ? list : [];
            var hint = Closest(name, fields) is { } guess ? $"; did you mean \"{guess}\"?" : fields.Length > 0 ? $"; the fields there are {string.Join(", ", fields)}" : string.Empty;
            return $"{LineOf(text, name)}unknown field \"{Printable(name)}\"{hint}";
        }

        if (NotConverted().Match(message) is { Success: true } converted)
        {
            return $"{where}\"{Printable(field)}\" must be {Expected(converted.Groups["type"].Value)}";
        }

        if (MissingRequired().Match(message) is { Success: true } missing)
        {
            return $"{where}{(field.Length > 0 ? $"\"{Printable(field)}\" is" : "an entry is")} missing \"{Printable(missing.Groups["name"].Value)}\"";
        }

        // A syntax error: the reader's own sentence, without its position suffix, after ours.
        var reason = message.Contains("trailing comma", StringComparison.Ordinal)
            ? "a comma before a closing ] or } (JSON allows none there)"
            : Shortened(Printable(message.Split(" Path: ", 2)[0].Split(" LineNumber: ", 2)[0].TrimEnd('.', ' ')));

        // A sentence of the serializer's own that names its types is no use to a person.
        if (DotNetWords().IsMatch(reason))
        {
            return $"{where}\"{field}\" holds a value this config cannot take";
        }

        var column = error.BytePositionInLine is { } position ? $", column {position + 1}" : string.Empty;
        return error.LineNumber is { } l ? $"line {l + 1}{column}: not valid JSON: {reason}" : $"not valid JSON: {reason}";
    }

    /// <summary>A sentence as one line: it may quote the file, and the file's control characters become '?'.</summary>
    public static string Printable(string text) => string.Create(text.Length, text, (span, source) =>
    {
        for (var i = 0; i < source.Length; i++)
        {
            span[i] = char.IsControl(source[i]) ? '?' : source[i];
        }
    });

    /// <summary>At most 160 characters of a reader's sentence, which quotes the file and may run on.</summary>
    private static string Shortened(string text) => text.Length <= 160 ? text : string.Concat(text.AsSpan(0, 157), "...");

    /// <summary>The JSON path without its root: <c>$.disks[0].weight</c> is <c>disks[0].weight</c>.</summary>
    private static string Field(string? path) => path is null ? string.Empty : path.TrimStart('$').TrimStart('.');

    private static string Expected(string type) => type switch
    {
        _ when type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) => "a number",
        _ when type.Contains("Int", StringComparison.Ordinal) => "a whole number",
        _ when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ when type.Contains("String", StringComparison.Ordinal) => "a string (in quotes)",
        _ when type.Contains("List", StringComparison.Ordinal) => "a list [ ... ]",
        _ => "an object { ... }",
    };

    /// <summary>"line N: " for the first place <paramref name="name"/> is used as a field, or nothing.</summary>
    private static string LineOf(string text, string name)
    {
        var at = text.IndexOf($"\"{name}\"", StringComparison.Ordinal);
        return at < 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"line {text.AsSpan(0, at).Count('\n') + 1}: ");
    }

    /// <summary>The known field within two edits of <paramref name="name"/> (case aside), if one is.</summary>
    private static string? Closest(string name, string[] fields)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var candidate in fields)
        {
            var distance = Distance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return best;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    [GeneratedRegex(@"property '(?<name>.*)' could not be mapped to any \.NET member contained in type '(?<type>[^']*)'", RegexOptions.Singleline)]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex(@"IoVirt\.|System\.|\.NET|isFinalBlock|LineNumber|BytePositionInLine")]
    private static partial Regex DotNetWords();

    [GeneratedRegex(@"could not be converted to (?<type>\S+?)\.? Path")]
    private static partial Regex NotConverted();

    [GeneratedRegex(@"missing required properties including: '(?<name>.*)'", RegexOptions.Singleline)]
    private static partial Regex MissingRequired();
}
