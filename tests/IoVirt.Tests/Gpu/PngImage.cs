using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace IoVirt.Tests.Gpu;

/// <summary>Reads back what <see cref="Backends.Gpu.PngWriter"/> writes, checking the signature and every chunk's CRC: the size and the filtered RGB rows.</summary>
internal sealed record PngImage(uint Width, uint Height, byte ColourType, byte[] Rows)
{
    public static PngImage Read(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a }, png[..8]);
        var chunks = new List<(string Type, byte[] Data)>();
        for (var at = 8; at < png.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            var typeAndData = png.AsSpan(at + 4, 4 + length);
            Assert.Equal(Crc32.HashToUInt32(typeAndData), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length)));
            chunks.Add((System.Text.Encoding.ASCII.GetString(typeAndData[..4]), typeAndData[4..].ToArray()));
            at += 12 + length;
        }

        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
        var header = chunks[0].Data;
        Assert.Equal(8, header[8]);
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }

        return new PngImage(BinaryPrimitives.ReadUInt32BigEndian(header), BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4)), header[9], inflated.ToArray());
    }

    /// <summary>The pixel at (x, y) as red, green, blue (rows start with a filter byte, always 0 here).</summary>
    public (byte R, byte G, byte B) Pixel(int x, int y)
    {
        var at = (y * (1 + ((int)Width * 3))) + 1 + (x * 3);
        return (Rows[at], Rows[at + 1], Rows[at + 2]);
    }
}
