using IoVirt.Interop;

namespace IoVirt.Testing;

/// <summary>Reads an image file the way a test checks what a daemon wrote to it.</summary>
public static class ImageFile
{
    /// <summary>
    /// The <paramref name="length"/> bytes at <paramref name="offset"/>, read without taking the
    /// image's lock: a running daemon holds it, and a stopped one's io_uring may still hold it briefly.
    /// </summary>
    public static unsafe byte[] Read(string path, long offset, int length)
    {
        var bytes = new byte[length];
        using var file = BlockFile.Open(path, readOnly: true, direct: false);
        fixed (byte* p = bytes)
        {
            var vector = new Tmds.Linux.iovec { iov_base = p, iov_len = (Tmds.Linux.size_t)(ulong)length };
            var read = file.ReadAt(offset, new ReadOnlySpan<Tmds.Linux.iovec>(&vector, 1));
            if (read != length)
            {
                throw new IOException($"read {read} of {length} bytes at {offset} of {path}");
            }
        }

        return bytes;
    }

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="offset"/>, without the image's lock, as damage from outside the data path would.</summary>
    public static unsafe void Write(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var file = BlockFile.Open(path, readOnly: false, direct: false);
        fixed (byte* p = bytes)
        {
            var vector = new Tmds.Linux.iovec { iov_base = p, iov_len = (Tmds.Linux.size_t)(ulong)bytes.Length };
            var written = file.WriteAt(offset, new ReadOnlySpan<Tmds.Linux.iovec>(&vector, 1), dsync: false);
            if (written != bytes.Length)
            {
                throw new IOException($"wrote {written} of {bytes.Length} bytes at {offset} of {path}");
            }
        }
    }
}
