namespace IoVirt.Backends.Blk;

/// <summary>
/// An option of <see cref="BlkDeviceOptions"/> (<see cref="Option"/>, the property's name) that
/// only the uring engine serves, set for an image that resolved to another engine.
/// </summary>
public sealed class BlkEngineConflictException(string option, string what, BlockEngineKind engine)
    : ArgumentException($"{what} for the uring engine, not {engine.ToString().ToLowerInvariant()}")
{
    public string Option { get; } = option;
}
