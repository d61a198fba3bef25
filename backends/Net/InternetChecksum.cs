using System.Buffers.Binary;

namespace IoVirt.Backends.Net;

/// <summary>
/// Finishes a partial checksum (NEEDS_CSUM) in software for ports that cannot: the ones'
/// complement sum of the frame from csum_start to its end, which already includes the
/// pseudo-header sum the guest left in the checksum field, stored at csum_start + csum_offset.
/// </summary>
public static class InternetChecksum
{
    /// <summary>Completes the checksum in <paramref name="frame"/>; the caller checked that the field lies inside it.</summary>
    public static void Complete(Span<byte> frame, int start, int offset)
    {
        var sum = Sum(frame[start..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[(start + offset)..], unchecked((ushort)~sum));
    }

    /// <summary>The folded 16-bit ones' complement sum of <paramref name="data"/> in network byte order.</summary>
    public static ushort Sum(ReadOnlySpan<byte> data)
    {
        ulong sum = 0;
        var i = 0;
        for (; i + 4 <= data.Length; i += 4)
        {
            sum += BinaryPrimitives.ReadUInt32BigEndian(data[i..]);
        }

        for (; i + 2 <= data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if (i < data.Length)
        {
            sum += (ulong)data[i] << 8;
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)sum;
    }
}
