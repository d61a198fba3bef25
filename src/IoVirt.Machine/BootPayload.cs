using IoVirt.Memory;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Machine;

/// <summary>
/// Bytes a boot loader puts into guest memory: a range of a file, read straight into the guest's
/// pages (so a 40 MiB initramfs never becomes a 40 MiB array in the VMM), or bytes in memory.
/// </summary>
public sealed class BootPayload
{
    private readonly string? _path;
    private readonly long _offset;
    private readonly ReadOnlyMemory<byte> _bytes;

    private BootPayload(string? path, long offset, long length, ReadOnlyMemory<byte> bytes)
    {
        _path = path;
        _offset = offset;
        Length = length;
        _bytes = bytes;
    }

    public long Length { get; }

    public static BootPayload Empty { get; } = FromBytes(ReadOnlyMemory<byte>.Empty);

    public static BootPayload FromBytes(ReadOnlyMemory<byte> bytes) => new(null, 0, bytes.Length, bytes);

    /// <summary>The bytes of <paramref name="path"/> from <paramref name="offset"/> on, as long as the file is now.</summary>
    public static BootPayload FromFile(string path, long offset)
    {
        var length = new FileInfo(path).Length;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, length);
        return new BootPayload(path, offset, length - offset, default);
    }

    /// <summary>The whole of <paramref name="path"/>; IOException (or UnauthorizedAccessException) when it cannot be read.</summary>
    public static BootPayload FromFile(string path) => FromFile(path, 0);

    /// <summary>
    /// Copies the payload to guest memory at <paramref name="address"/>, which the caller has
    /// checked holds it; <see cref="InvalidDataException"/> if the file shrank since.
    /// </summary>
    public void CopyTo(GuestMemory memory, ulong address)
    {
        if (Length > int.MaxValue || memory.TryGetSpan(address, (int)Length, out var target) != MemoryFault.None)
        {
            throw new InvalidOperationException($"0x{Length:x} bytes at 0x{address:x} are not one range of guest memory");
        }

        if (_path is null)
        {
            _bytes.Span.CopyTo(target);
            return;
        }

        using var file = File.OpenHandle(_path);
        if (ReadFully(file, target, _offset) < target.Length)
        {
            throw new InvalidDataException($"{_path} shrank while it was being loaded");
        }
    }

    /// <summary>Reads <paramref name="file"/> from <paramref name="offset"/> until <paramref name="target"/> is full or the file ends; the bytes read.</summary>
    internal static int ReadFully(SafeFileHandle file, Span<byte> target, long offset)
    {
        var done = 0;
        while (done < target.Length && RandomAccess.Read(file, target[done..], offset + done) is var read and > 0)
        {
            done += read;
        }

        return done;
    }
}
