namespace IoVirt.Virtqueue;

/// <summary>
/// One buffer of a descriptor chain, already checked to lie in guest memory. <see cref="Host"/>
/// points at its bytes when they are contiguous in host memory; a buffer that crosses a region
/// boundary has a null <see cref="Host"/> and is reached through <see cref="IoVirt.Memory.GuestMemory.Scatter"/>.
/// </summary>
public readonly unsafe struct VirtqBuffer(ulong guestAddress, uint length, bool isWritable, byte* host)
{
    public ulong GuestAddress { get; } = guestAddress;

    public uint Length { get; } = length;

    /// <summary>Device-writable (the driver reads it back); otherwise device-readable.</summary>
    public bool IsWritable { get; } = isWritable;

    public byte* Host { get; } = host;

    public bool IsContiguous => Host != null || Length == 0;

    /// <summary>The buffer's bytes; only for contiguous buffers.</summary>
    public Span<byte> Span => IsContiguous ? new Span<byte>(Host, (int)Length) : throw new InvalidOperationException("The buffer spans guest memory regions; use GuestMemory.Scatter.");
}
