namespace IoVirt.Cli;

/// <summary>Where a config file went wrong: it could not be read, it is not the JSON expected, or its values break a rule.</summary>
internal enum ConfigErrorKind
{
    Unreadable,
    Malformed,
    Invalid,
}

/// <summary>
/// Why the config file <paramref name="Path"/> cannot be served, as one line for the person who
/// wrote it: <paramref name="Reason"/> names the line or field, in the file's own terms.
/// </summary>
internal sealed record ConfigError(ConfigErrorKind Kind, string Path, string Reason)
{
    /// <summary>The error as printed: one line, the file's control characters shown as '?'.</summary>
    public string Line => Kind == ConfigErrorKind.Unreadable ? Reason : ConfigErrorText.Printable($"{Path}: {Reason}");

    public override string ToString() => Line;
}
