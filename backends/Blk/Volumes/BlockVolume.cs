namespace IoVirt.Backends.Blk.Volumes;

/// <summary>A named part of a shared image: the bytes [<see cref="Offset"/>, + <see cref="Size"/>) that one guest's disk is.</summary>
public sealed record BlockVolume(string Name, long Offset, long Size)
{
    public long End => Offset + Size;
}
