using IoVirt.Abi.Gpu;
using IoVirt.Memory;

namespace IoVirt.Backends.Gpu;

/// <summary>
/// A resource's backing store in guest memory: the pieces RESOURCE_ATTACH_BACKING named, read
/// as one run of bytes. Each piece was checked against guest memory when attached; it is read
/// through the memory current at each transfer, so a remapped guest stays correct.
/// </summary>
internal sealed class GpuBacking
{
    private readonly (ulong Address, uint Length)[] _pieces;

    private GpuBacking((ulong Address, uint Length)[] pieces, ulong length)
    {
        _pieces = pieces;
        Length = length;
    }

    /// <summary>Bytes in all pieces together.</summary>
    public ulong Length { get; }

    /// <summary>The backing the entries describe; null when one lies outside <paramref name="memory"/>.</summary>
    public static GpuBacking? TryCreate(GuestMemory memory, ReadOnlySpan<VirtioGpuMemEntry> entries)
    {
        var pieces = new (ulong, uint)[entries.Length];
        var total = 0UL;
        for (var i = 0; i < entries.Length; i++)
        {
            var (address, length) = (entries[i].Addr, entries[i].Length);
            if (memory.CheckRange(address, length) != MemoryFault.None)
            {
                return null;
            }

            pieces[i] = (address, length);
            total += length;
        }

        return new GpuBacking(pieces, total);
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes from <paramref name="offset"/> of the backing; false when guest memory no longer holds a piece.</summary>
    public bool Read(GuestMemory memory, ulong offset, Span<byte> destination)
    {
        // Callers keep offset + length within Length.
        foreach (var (address, length) in _pieces)
        {
            if (destination.IsEmpty)
            {
                break;
            }

            if (offset >= length)
            {
                offset -= length;
                continue;
            }

            var take = (int)Math.Min(length - offset, (ulong)destination.Length);
            if (memory.Read(address + offset, destination[..take]) != MemoryFault.None)
            {
                return false;
            }

            destination = destination[take..];
            offset = 0;
        }

        return destination.IsEmpty;
    }
}
