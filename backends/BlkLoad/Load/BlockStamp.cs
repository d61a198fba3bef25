using System.Buffers.Binary;

namespace IoVirt.Backends.Blk.Load;

/// <summary>
/// What a verifying load run writes into every 512-byte sector, so a read can tell whose data it
/// got: a magic number, the sector's own number, the write's generation and the writer's tag (a
/// hash of the device's serial, so another disk's data is caught too), then a fill derived from
/// all of them, so a torn or shifted sector does not pass.
/// </summary>
public static class BlockStamp
{
    private const ulong Magic = 0x4649_5245_5654_5649; // "IVTVERIF", little-endian
    private const int HeaderBytes = 32;
    private const int SectorSize = 512;

    /// <summary>What one sector holds, as read back.</summary>
    public enum Reading
    {
        /// <summary>All zeros: never written.</summary>
        Zero,

        /// <summary>A stamp with the expected sector number and tag.</summary>
        Stamped,

        /// <summary>Anything else: another sector's, another disk's or damaged data.</summary>
        Foreign,
    }

    /// <summary>The writer's tag for a device serial (FNV-1a).</summary>
    public static ulong Tag(ReadOnlySpan<byte> serial)
    {
        var hash = 0xcbf29ce484222325UL;
        foreach (var b in serial)
        {
            hash = unchecked((hash ^ b) * 0x100000001b3UL);
        }

        return hash;
    }

    /// <summary>Stamps every sector of <paramref name="block"/>, the first being <paramref name="firstSector"/>.</summary>
    public static void Write(Span<byte> block, ulong firstSector, ulong generation, ulong tag)
    {
        for (var offset = 0; offset + SectorSize <= block.Length; offset += SectorSize)
        {
            var sector = block.Slice(offset, SectorSize);
            var number = firstSector + (ulong)(offset / SectorSize);
            BinaryPrimitives.WriteUInt64LittleEndian(sector, Magic);
            BinaryPrimitives.WriteUInt64LittleEndian(sector[8..], number);
            BinaryPrimitives.WriteUInt64LittleEndian(sector[16..], generation);
            BinaryPrimitives.WriteUInt64LittleEndian(sector[24..], tag);
            var fill = Fill(number, generation, tag);
            for (var i = HeaderBytes; i < SectorSize; i += 8)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(sector[i..], fill);
            }
        }
    }

    /// <summary>
    /// Reads one sector back: <see cref="Reading.Stamped"/> with its generation when it is a whole
    /// stamp of sector <paramref name="number"/> by <paramref name="tag"/>.
    /// </summary>
    public static Reading Read(ReadOnlySpan<byte> sector, ulong number, ulong tag, out ulong generation)
    {
        generation = 0;
        if (!sector[..SectorSize].ContainsAnyExcept((byte)0))
        {
            return Reading.Zero;
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(sector) != Magic
            || BinaryPrimitives.ReadUInt64LittleEndian(sector[8..]) != number
            || BinaryPrimitives.ReadUInt64LittleEndian(sector[24..]) != tag)
        {
            return Reading.Foreign;
        }

        generation = BinaryPrimitives.ReadUInt64LittleEndian(sector[16..]);
        var fill = Fill(number, generation, tag);
        for (var i = HeaderBytes; i < SectorSize; i += 8)
        {
            if (BinaryPrimitives.ReadUInt64LittleEndian(sector[i..]) != fill)
            {
                return Reading.Foreign;
            }
        }

        return Reading.Stamped;
    }

    private static ulong Fill(ulong number, ulong generation, ulong tag) =>
        unchecked(((number * 0x9e3779b97f4a7c15UL) ^ (generation * 0xc2b2ae3d27d4eb4fUL) ^ tag) | 1);
}
