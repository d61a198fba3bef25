namespace IoVirt.Memory;

/// <summary>One contiguous piece of a guest range in host memory, as produced by scatter translation.</summary>
public readonly unsafe struct HostSegment(byte* pointer, int length)
{
    public byte* Pointer { get; } = pointer;

    public int Length { get; } = length;

    public Span<byte> Span => new(Pointer, Length);
}
