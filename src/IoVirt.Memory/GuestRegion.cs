using IoVirt.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Memory;

/// <summary>
/// One contiguous block of guest-physical memory and the host mapping behind it. Regions are
/// reference counted so consecutive <see cref="GuestMemory"/> snapshots can share them; the
/// mapping is released when the last snapshot holding it is released.
/// </summary>
public sealed unsafe class GuestRegion : IDisposable
{
    private readonly byte* _mapBase;
    private readonly ulong _mapLength;
    private readonly bool _allocated;
    private int _references = 1;

    private GuestRegion(ulong guestAddress, ulong size, ulong userAddress, byte* host, byte* mapBase, ulong mapLength, bool allocated, SafeFileHandle? file, ulong fileOffset)
    {
        GuestAddress = guestAddress;
        Size = size;
        UserAddress = userAddress;
        Host = host;
        _mapBase = mapBase;
        _mapLength = mapLength;
        _allocated = allocated;
        File = file;
        FileOffset = fileOffset;
    }

    /// <summary>Guest-physical address of the first byte.</summary>
    public ulong GuestAddress { get; }

    /// <summary>Length in bytes; never zero.</summary>
    public ulong Size { get; }

    /// <summary>Guest-physical address one past the last byte (cannot overflow: checked at creation).</summary>
    public ulong GuestEnd => GuestAddress + Size;

    /// <summary>
    /// Where the front end has this region in its own address space: vhost-user ring addresses
    /// arrive in that space. For a region this process created, its own host address.
    /// </summary>
    public ulong UserAddress { get; }

    /// <summary>Host address of <see cref="GuestAddress"/>.</summary>
    public byte* Host { get; }

    /// <summary>The file the region maps, when the region keeps it open (memfd regions a front end shares).</summary>
    public SafeFileHandle? File { get; }

    /// <summary>Offset of the region's first byte in <see cref="File"/>.</summary>
    public ulong FileOffset { get; }

    /// <summary>Creates a memfd of <paramref name="size"/> bytes and maps it shared; the fd stays open for passing to a back end.</summary>
    public static GuestRegion CreateMemfd(ulong guestAddress, ulong size, string name = "iovirt-guest")
    {
        CheckBounds(guestAddress, size);
        var fd = Mapping.CreateMemfd(name, size);
        var file = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var host = Mapping.MapShared(fd, 0, size, writable: true);
            return new GuestRegion(guestAddress, size, (ulong)host, host, host, size, allocated: false, file, 0);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Maps <paramref name="size"/> bytes of <paramref name="file"/> from <paramref name="fileOffset"/>
    /// (any offset: the mapping starts at the page below it). The range must lie inside the file
    /// (<see cref="ArgumentException"/> otherwise). The caller keeps ownership of the file; the
    /// mapping stays valid after the file is closed.
    /// </summary>
    public static GuestRegion MapFile(ulong guestAddress, ulong size, SafeFileHandle file, ulong fileOffset, ulong userAddress, bool writable = true)
    {
        ArgumentNullException.ThrowIfNull(file);
        CheckBounds(guestAddress, size);
        var pageOffset = fileOffset % Mapping.PageSize;
        var mapOffset = fileOffset - pageOffset;
        var mapLength = checked(size + pageOffset);
        var fd = (int)file.DangerousGetHandle();
        Mapping.CheckFileRange(fd, fileOffset, size);
        var mapBase = Mapping.MapShared(fd, mapOffset, mapLength, writable);
        return new GuestRegion(guestAddress, size, userAddress, mapBase + pageOffset, mapBase, mapLength, allocated: false, file: null, fileOffset);
    }

    /// <summary>Maps shared anonymous memory (visible to children after fork, never to another process by fd).</summary>
    public static GuestRegion CreateAnonymousShared(ulong guestAddress, ulong size)
    {
        CheckBounds(guestAddress, size);
        var host = Mapping.MapShared(-1, 0, size, writable: true);
        return new GuestRegion(guestAddress, size, (ulong)host, host, host, size, allocated: false, file: null, 0);
    }

    /// <summary>Allocates zeroed, page-aligned process memory: for tests, benchmarks and fuzzers.</summary>
    public static GuestRegion Allocate(ulong guestAddress, ulong size)
    {
        CheckBounds(guestAddress, size);
        var host = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)size, (nuint)Mapping.PageSize);
        System.Runtime.InteropServices.NativeMemory.Clear(host, (nuint)size);
        return new GuestRegion(guestAddress, size, (ulong)host, host, host, size, allocated: true, file: null, 0);
    }

    /// <summary>
    /// Releases the creator's reference of a region that no <see cref="GuestMemory"/> took over
    /// (a map takes the creator's reference, and releases it itself).
    /// </summary>
    public void Dispose() => Release();

    internal void AddReference() => Interlocked.Increment(ref _references);

    internal void Release()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left > 0)
        {
            return;
        }

        if (left < 0)
        {
            throw new InvalidOperationException("Guest region released more often than referenced.");
        }

        if (_allocated)
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(_mapBase);
        }
        else
        {
            Mapping.Unmap(_mapBase, _mapLength);
        }

        File?.Dispose();
    }

    private static void CheckBounds(ulong guestAddress, ulong size)
    {
        if (size == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), "A guest region cannot be empty.");
        }

        if (size > ulong.MaxValue - guestAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(size), "The region's end does not fit in 64 bits.");
        }
    }
}
