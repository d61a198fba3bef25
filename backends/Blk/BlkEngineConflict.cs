namespace IoVirt.Backends.Blk;

/// <summary>
/// An option of <see cref="BlkDeviceOptions"/> (<paramref name="Option"/>, the property's name)
/// that the <paramref name="Engine"/> the image resolved to cannot serve.
/// </summary>
public sealed record BlkEngineConflict(string Option, string What, BlockEngineKind Engine)
{
    public string Message => $"{What} for the uring engine, not {Engine.ToString().ToLowerInvariant()}";
}
