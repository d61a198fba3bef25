using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using IoVirt.Abi.Gpu;
using IoVirt.Backends.Gpu;

namespace IoVirt.Tests.Gpu;

/// <summary>A snapshot is a valid PNG (chunk CRCs, zlib stream) whose pixels are the frame's, whatever the source's byte order.</summary>
public sealed class PngWriterTests
{
    [Theory]
    [InlineData(VirtioGpuFormat.B8G8R8A8Unorm)]
    [InlineData(VirtioGpuFormat.X8R8G8B8Unorm)]
    [InlineData(VirtioGpuFormat.R8G8B8X8Unorm)]
    [InlineData(VirtioGpuFormat.A8B8G8R8Unorm)]
    public void The_png_holds_the_frames_pixels_as_rgb(VirtioGpuFormat format)
    {
        const int width = 7, height = 5, stride = 40;
        var source = new byte[stride * height];
        new Random(3).NextBytes(source);
        using var png = new MemoryStream();
        PngWriter.Write(png, new GpuFrame(format, source, stride, width, height));

        var chunks = Chunks(png.ToArray());
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
        var header = chunks[0].Data;
        Assert.Equal((7U, 5U, (byte)8, (byte)2), (BinaryPrimitives.ReadUInt32BigEndian(header), BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4)), header[8], header[9]));
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }

        var rows = inflated.ToArray();
        Assert.Equal(height * (1 + (width * 3)), rows.Length);
        var (r, g, b) = PngWriter.ChannelOffsets(format);
        for (var y = 0; y < height; y++)
        {
            Assert.Equal(0, rows[y * (1 + (width * 3))]);
            for (var x = 0; x < width; x++)
            {
                var pixel = source.AsSpan((y * stride) + (x * 4), 4);
                var rgb = rows.AsSpan((y * (1 + (width * 3))) + 1 + (x * 3), 3);
                Assert.Equal([pixel[r], pixel[g], pixel[b]], rgb.ToArray());
            }
        }
    }

    [Fact]
    public void Each_format_puts_red_green_and_blue_where_its_name_says()
    {
        Assert.Equal((2, 1, 0), PngWriter.ChannelOffsets(VirtioGpuFormat.B8G8R8X8Unorm));
        Assert.Equal((1, 2, 3), PngWriter.ChannelOffsets(VirtioGpuFormat.A8R8G8B8Unorm));
        Assert.Equal((0, 1, 2), PngWriter.ChannelOffsets(VirtioGpuFormat.R8G8B8A8Unorm));
        Assert.Equal((3, 2, 1), PngWriter.ChannelOffsets(VirtioGpuFormat.X8B8G8R8Unorm));
    }

    private static List<(string Type, byte[] Data)> Chunks(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a }, png[..8]);
        var chunks = new List<(string, byte[])>();
        for (var at = 8; at < png.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            var typeAndData = png.AsSpan(at + 4, 4 + length);
            Assert.Equal(Crc32.HashToUInt32(typeAndData), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length)));
            chunks.Add((System.Text.Encoding.ASCII.GetString(typeAndData[..4]), typeAndData[4..].ToArray()));
            at += 12 + length;
        }

        return chunks;
    }
}
