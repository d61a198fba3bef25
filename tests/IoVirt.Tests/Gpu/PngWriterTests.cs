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

        var image = PngImage.Read(png.ToArray());
        Assert.Equal((7U, 5U, (byte)2), (image.Width, image.Height, image.ColourType));
        Assert.Equal(height * (1 + (width * 3)), image.Rows.Length);
        var (r, g, b) = PngWriter.ChannelOffsets(format);
        for (var y = 0; y < height; y++)
        {
            Assert.Equal(0, image.Rows[y * (1 + (width * 3))]);
            for (var x = 0; x < width; x++)
            {
                var pixel = source.AsSpan((y * stride) + (x * 4), 4);
                Assert.Equal((pixel[r], pixel[g], pixel[b]), image.Pixel(x, y));
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
}
