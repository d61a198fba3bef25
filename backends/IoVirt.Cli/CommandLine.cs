namespace IoVirt.Cli;

/// <summary>
/// The options of one subcommand: <c>--name value</c>, <c>--name=value</c> and bare flags.
/// Anything not declared is a usage error.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private CommandLine()
    {
    }

    /// <summary>Parses <paramref name="args"/>; <paramref name="valueOptions"/> take a value, <paramref name="flagOptions"/> do not.</summary>
    private static CommandLine? TryParse(ReadOnlySpan<string> args, IReadOnlySet<string> valueOptions, IReadOnlySet<string> flagOptions, out string? error)
    {
        var line = new CommandLine();
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? arg[..eq] : arg;
            if (flagOptions.Contains(name) && eq < 0)
            {
                line._flags.Add(name);
            }
            else if (valueOptions.Contains(name))
            {
                if (eq > 0)
                {
                    line._values[name] = arg[(eq + 1)..];
                }
                else if (i + 1 < args.Length)
                {
                    line._values[name] = args[++i];
                }
                else
                {
                    error = $"{name} needs a value";
                    return null;
                }
            }
            else
            {
                error = $"unknown option '{arg}'";
                return null;
            }
        }

        return line;
    }

    /// <summary>
    /// Parses a subcommand's <paramref name="args"/>. Null means go on with <paramref name="line"/>;
    /// otherwise the command is done and the value is its exit code: 2 after a usage error (said
    /// on stderr with <paramref name="usage"/>), 0 after -h/--help (the usage on stdout).
    /// </summary>
    public static int? Parse(ReadOnlySpan<string> args, IReadOnlySet<string> valueOptions, IReadOnlySet<string> flagOptions, string usage, out CommandLine line)
    {
        line = TryParse(args, valueOptions, flagOptions, out var error)!;
        if (line is null)
        {
            return Program.UsageError(error!, usage);
        }

        if (line.Has("-h") || line.Has("--help"))
        {
            Console.Out.Write(usage);
            return 0;
        }

        return null;
    }

    public bool Has(string flag) => _flags.Contains(flag);

    public string? Value(string name) => _values.TryGetValue(name, out var value) ? value : null;

    /// <summary>The integer option <paramref name="name"/> within [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent; false when malformed or out of range.</summary>
    public bool TryInt(string name, int fallback, int min, int max, out int value)
    {
        value = fallback;
        return Value(name) is not { } text
            || (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value) && value >= min && value <= max);
    }
}
