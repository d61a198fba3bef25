using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using IoVirt.Abi.Gpu;

namespace IoVirt.Backends.Gpu;

/// <summary>
/// Writes a scanout's image as a PNG (8-bit RGB, no filtering, zlib-compressed): enough for
/// snapshots any viewer opens. The alpha or padding byte of the source format is dropped.
/// </summary>
public static class PngWriter
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a];

    public static void Write(Stream output, GpuFrame frame)
    {
        output.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, frame.Width);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], frame.Height);
        header[8] = 8; // bits per channel
        header[9] = 2; // truecolour
        Chunk(output, "IHDR"u8, header);

        using var pixels = new MemoryStream();
        using (var zlib = new ZLibStream(pixels, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[1 + (frame.Width * 3)];
            var (r, g, b) = ChannelOffsets(frame.Format);
            for (var y = 0; y < frame.Height; y++)
            {
                var source = frame.Pixels.Slice(y * frame.Stride, (int)frame.Width * GpuResource.BytesPerPixel);
                for (var x = 0; x < frame.Width; x++)
                {
                    var pixel = source.Slice(x * GpuResource.BytesPerPixel, GpuResource.BytesPerPixel);
                    row[1 + (x * 3)] = pixel[r];
                    row[2 + (x * 3)] = pixel[g];
                    row[3 + (x * 3)] = pixel[b];
                }

                zlib.Write(row);
            }
        }

        Chunk(output, "IDAT"u8, pixels.GetBuffer().AsSpan(0, (int)pixels.Length));
        Chunk(output, "IEND"u8, []);
    }

    /// <summary>Where red, green and blue sit within a pixel's 4 bytes in memory.</summary>
    public static (int Red, int Green, int Blue) ChannelOffsets(VirtioGpuFormat format) => format switch
    {
        VirtioGpuFormat.B8G8R8A8Unorm or VirtioGpuFormat.B8G8R8X8Unorm => (2, 1, 0),
        VirtioGpuFormat.A8R8G8B8Unorm or VirtioGpuFormat.X8R8G8B8Unorm => (1, 2, 3),
        VirtioGpuFormat.R8G8B8A8Unorm or VirtioGpuFormat.R8G8B8X8Unorm => (0, 1, 2),
        VirtioGpuFormat.A8B8G8R8Unorm or VirtioGpuFormat.X8B8G8R8Unorm => (3, 2, 1),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "not a 2D format"),
    };

    private static void Chunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        var crc = new Crc32();
        crc.Append(type);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
        output.Write(word);
    }
}
