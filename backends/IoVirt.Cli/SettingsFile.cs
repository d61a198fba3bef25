using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace IoVirt.Cli;

/// <summary>
/// <c>--config FILE</c>: a daemon's settings in one JSON file (the mux's format), so its whole
/// setup can live there. The members are the command's options in camelCase ("socket",
/// "queueSize", "logLevel", "metricsListen"...), each with the value it takes on the command line:
/// a string or a number, and true or false for a flag. An option given on the command line wins
/// over the file. Where the file holds more than options (the mux's disks and nics), the
/// command reads the rest itself.
/// </summary>
internal sealed class SettingsFileOption : Option<string>
{
    /// <param name="description">What the file holds, for the help.</param>
    /// <param name="onlyOptions">True when every member must be an option (else the command reads the other members).</param>
    public SettingsFileOption(string description, bool onlyOptions)
        : base("--config")
    {
        HelpName = "FILE";
        Description = description;
        OnlyOptions = onlyOptions;
    }

    public bool OnlyOptions { get; }

    /// <summary>
    /// <paramref name="args"/> with the settings of the file that <c>--config</c> names there
    /// appended as options (those not given already); <paramref name="args"/> itself when the
    /// command takes no such file or none is named; null, with <paramref name="error"/>, when the
    /// file cannot be read or holds something that is not one of the command's options.
    /// </summary>
    public static string[]? Expand(RootCommand root, string[] args, out string? error)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(args);
        error = null;
        if (args.Length == 0
            || root.Subcommands.FirstOrDefault(c => c.Name == args[0]) is not { } command
            || command.Options.OfType<SettingsFileOption>().FirstOrDefault() is not { } file
            || ValueOf(args, file.Name) is not { } path)
        {
            return args;
        }

        JsonElement settings;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            settings = document.RootElement.Clone();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            // A file the command reads itself gets the command's own, more precise, error.
            error = file.OnlyOptions ? $"{path}: {e.Message}" : null;
            return file.OnlyOptions ? null : args;
        }

        if (settings.ValueKind != JsonValueKind.Object)
        {
            error = file.OnlyOptions ? $"{path}: the settings are a JSON object" : null;
            return file.OnlyOptions ? null : args;
        }

        var settable = command.Options.Where(o => o != file && o is not HelpOption).ToDictionary(o => o.Name, StringComparer.Ordinal);
        var expanded = new List<string>(args);
        foreach (var member in settings.EnumerateObject())
        {
            if (!settable.TryGetValue(OptionName(member.Name), out var option))
            {
                if (file.OnlyOptions)
                {
                    var names = string.Join(", ", settable.Keys.Select(CamelCase));
                    error = $"{path}: \"{member.Name}\" is not a setting of iovirt {command.Name} (they are its options in camelCase: {names})";
                    return null;
                }

                continue;
            }

            if (ValueOf(args, option.Name) is not null || args.Contains(option.Name, StringComparer.Ordinal))
            {
                continue;
            }

            var isFlag = option.Arity.MaximumNumberOfValues == 0;
            var kind = member.Value.ValueKind;
            if (isFlag ? kind is not (JsonValueKind.True or JsonValueKind.False) : kind is not (JsonValueKind.String or JsonValueKind.Number))
            {
                if (!file.OnlyOptions)
                {
                    continue; // the command's own reader says what is wrong with it
                }

                error = $"{path}: \"{member.Name}\" takes {(isFlag ? "true or false" : "a string or a number")}, not {member.Value.GetRawText()}";
                return null;
            }

            if (!isFlag)
            {
                expanded.AddRange([option.Name, kind == JsonValueKind.String ? member.Value.GetString()! : member.Value.GetRawText()]);
            }
            else if (kind == JsonValueKind.True)
            {
                expanded.Add(option.Name);
            }
        }

        return [.. expanded];
    }

    /// <summary>The value given to <paramref name="name"/> in <paramref name="args"/> (as "--name VALUE" or "--name=VALUE"), else null.</summary>
    private static string? ValueOf(string[] args, string name)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == name && i + 1 < args.Length)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith(name + "=", StringComparison.Ordinal))
            {
                return args[i][(name.Length + 1)..];
            }
        }

        return null;
    }

    /// <summary>"queueSize" → "--queue-size".</summary>
    private static string OptionName(string camel)
    {
        var name = new StringBuilder("--", camel.Length + 4);
        foreach (var c in camel)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                name.Append('-').Append(char.ToLowerInvariant(c));
            }
            else
            {
                name.Append(c);
            }
        }

        return name.ToString();
    }

    /// <summary>"--queue-size" → "queueSize".</summary>
    private static string CamelCase(string option)
    {
        var words = option.TrimStart('-').Split('-');
        return words[0] + string.Concat(words.Skip(1).Select(w => char.ToUpper(w[0], CultureInfo.InvariantCulture) + w[1..]));
    }
}
