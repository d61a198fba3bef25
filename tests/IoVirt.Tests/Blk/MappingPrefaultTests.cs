using System.Globalization;
using IoVirt.Backends.Blk;

namespace IoVirt.Tests.Blk;

/// <summary>
/// The mapped engine's image is faulted in ahead of the first requests: all of an image file on
/// tmpfs, and only the written part of a RAM disk (whose unwritten space must stay unallocated).
/// Read from the kernel's own account of the mapping (/proc/self/smaps).
/// </summary>
public sealed unsafe class MappingPrefaultTests : IDisposable
{
    private const ulong ImageBytes = 32 << 20;

    private readonly string _directory = Directory.CreateDirectory(Path.Combine("/dev/shm", $"iovirt-prefault-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void An_image_file_in_RAM_is_mapped_in_whole_before_any_request()
    {
        var path = Path.Combine(_directory, "disk.img");
        using (var file = File.Create(path))
        {
            file.SetLength((long)ImageBytes);
        }

        using var store = BlockStore.Open(path, readOnly: false, direct: false);
        Assert.Empty(store.WhyNotMappable);
        var mapping = store.Mapping;
        Assert.True(SpinWait.SpinUntil(() => ResidentBytes(mapping) == ImageBytes, 10_000), $"{ResidentBytes(mapping)} of {ImageBytes} bytes mapped in");
    }

    [Fact]
    public void A_RAM_disk_has_only_its_written_part_mapped_in_and_nothing_more_allocated()
    {
        using var store = BlockStore.CreateRam(ImageBytes);
        var written = new byte[1 << 20];
        Array.Fill(written, (byte)0x5a);
        using (var stream = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(store.Buffered.Fd, ownsHandle: false), FileAccess.Write))
        {
            stream.Position = 8 << 20;
            stream.Write(written);
        }

        var mapping = store.Mapping;
        Assert.True(SpinWait.SpinUntil(() => ResidentBytes(mapping) == (ulong)written.Length, 10_000), $"{ResidentBytes(mapping)} bytes mapped in");
        Thread.Sleep(200);
        Assert.Equal((ulong)written.Length, ResidentBytes(mapping));
        Assert.Equal((ulong)written.Length, store.Buffered.AllocatedBytes);
        Assert.Equal(0x5a, mapping[(8 << 20) + 4096]);
    }

    /// <summary>The Rss of the mapping that starts at <paramref name="mapping"/>, in bytes.</summary>
    private static ulong ResidentBytes(byte* mapping)
    {
        var start = ((ulong)mapping).ToString("x", CultureInfo.InvariantCulture) + "-";
        var inMapping = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            // A mapping's header starts "START-END perms ..."; its fields ("Rss:   123 kB") follow.
            var first = line.Split(' ')[0];
            if (first.Contains('-', StringComparison.Ordinal) && first.Replace("-", string.Empty, StringComparison.Ordinal).All(char.IsAsciiHexDigit))
            {
                inMapping = line.StartsWith(start, StringComparison.Ordinal);
            }
            else if (inMapping && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                return ulong.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"no mapping at 0x{(ulong)mapping:x}");
    }
}
