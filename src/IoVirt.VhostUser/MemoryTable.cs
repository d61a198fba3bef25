using IoVirt.Abi.VhostUser;
using IoVirt.Interop;
using IoVirt.Memory;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.VhostUser;

/// <summary>
/// The guest memory a front end shares with the back end: the regions of SET_MEM_TABLE,
/// ADD_MEM_REG and REM_MEM_REG mapped from the descriptors sent along, and the dirty log of
/// SET_LOG_BASE. Each change publishes a new immutable map (<see cref="Memory"/>) and calls the
/// change callback, so ring workers move to it at their next batch. Refusals throw
/// <see cref="VhostUserProtocolException"/> and leave the table as it was.
/// </summary>
public sealed class MemoryTable(Action changed) : IDisposable
{
    /// <summary>Memory slots offered with CONFIGURE_MEM_SLOTS.</summary>
    public const int MaxSlots = 32;

    // QEMU keeps one memory table per vhost device, and a multiqueue net device has one vhost
    // device per queue pair on one connection: each adds, and later removes, the same regions.
    // A repeated region stays mapped once; this counts its adds beyond the first.
    private readonly Dictionary<(ulong GuestAddress, ulong Size, ulong UserAddress), int> _repeatedAdds = [];
    private AtomicGuestMemory? _memory;
    private DirtyBitmap? _dirtyLog;
    private bool _logAll;

    /// <summary>The current map, or null before the first table or region.</summary>
    public AtomicGuestMemory? Memory => Volatile.Read(ref _memory);

    /// <summary>Whether writes go to the dirty log: one was given and VHOST_F_LOG_ALL is negotiated.</summary>
    public bool IsLogging => _dirtyLog is not null && _logAll;

    /// <summary>SET_MEM_TABLE: replaces every region; <paramref name="files"/>[i] backs <paramref name="regions"/>[i].</summary>
    public void Replace(ReadOnlySpan<VhostUserMemoryRegion> regions, ReadOnlySpan<SafeFileHandle> files)
    {
        if (regions.Length is 0 or > VhostUserMemoryHeader.MaxRegions || files.Length != regions.Length)
        {
            throw new VhostUserProtocolException($"memory table with {regions.Length} regions and {files.Length} descriptors");
        }

        var mapped = new GuestRegion[regions.Length];
        var count = 0;
        try
        {
            for (; count < regions.Length; count++)
            {
                mapped[count] = Map(regions[count], files[count]);
            }

            Publish(new GuestMemory(mapped));
            _repeatedAdds.Clear();
        }
        catch (Exception e) when (e is ArgumentException or System.ComponentModel.Win32Exception)
        {
            foreach (var region in mapped.AsSpan(0, count))
            {
                region.Dispose();
            }

            throw new VhostUserProtocolException($"memory table refused: {e.Message}", e);
        }
    }

    /// <summary>ADD_MEM_REG: adds a region; adding one already mapped only counts the repeat.</summary>
    public void Add(VhostUserMemoryRegion region, SafeFileHandle file)
    {
        var current = Memory;
        if (current is not null)
        {
            using var lease = current.Acquire();
            if (Holds(lease.Memory.Regions, region))
            {
                var key = (region.GuestPhysAddr, region.MemorySize, region.UserspaceAddr);
                _repeatedAdds[key] = _repeatedAdds.GetValueOrDefault(key) + 1;
                return;
            }

            if (lease.Memory.Regions.Length >= MaxSlots)
            {
                throw new VhostUserProtocolException($"more than {MaxSlots} memory regions");
            }
        }

        GuestRegion added;
        try
        {
            added = Map(region, file);
        }
        catch (Exception e) when (e is ArgumentException or System.ComponentModel.Win32Exception)
        {
            throw new VhostUserProtocolException($"memory region refused: {e.Message}", e);
        }

        try
        {
            if (current is null)
            {
                Publish(new GuestMemory(added));
            }
            else
            {
                current.Update(m => m.WithRegion(added));
                changed();
            }
        }
        catch (ArgumentException e)
        {
            added.Dispose();
            throw new VhostUserProtocolException($"memory region refused: {e.Message}", e);
        }
    }

    /// <summary>REM_MEM_REG: removes a region, unless another add of it is still outstanding.</summary>
    public void Remove(VhostUserMemoryRegion region)
    {
        var current = Memory ?? throw new VhostUserProtocolException("no memory table to remove a region from");
        var key = (region.GuestPhysAddr, region.MemorySize, region.UserspaceAddr);
        if (_repeatedAdds.TryGetValue(key, out var repeats))
        {
            if (repeats == 1)
            {
                _repeatedAdds.Remove(key);
            }
            else
            {
                _repeatedAdds[key] = repeats - 1;
            }

            return;
        }

        try
        {
            current.Update(m =>
            {
                foreach (var r in m.Regions)
                {
                    if (Same(r, region))
                    {
                        return m.WithoutRegion(r.GuestAddress, r.Size);
                    }
                }

                throw new ArgumentException($"no region of 0x{region.MemorySize:x} bytes at guest 0x{region.GuestPhysAddr:x}");
            });
        }
        catch (ArgumentException e)
        {
            throw new VhostUserProtocolException(e.Message, e);
        }

        changed();
    }

    /// <summary>The guest address a front-end user address maps to, in the current map.</summary>
    public bool TryUserToGuest(ulong userAddress, out ulong guestAddress)
    {
        guestAddress = 0;
        using var lease = (Memory ?? throw new VhostUserProtocolException("no memory table yet")).Acquire();
        return lease.Memory.TryUserToGuest(userAddress, out guestAddress);
    }

    /// <summary>
    /// SET_LOG_BASE: maps the front end's dirty log (one bit per 4 KiB page of guest-physical
    /// memory, from address 0); every write is logged there while <see cref="LogAll"/> is on. The
    /// old log stays mapped until no memory snapshot using it is in use.
    /// </summary>
    public unsafe void SetDirtyLog(VhostUserLog log, SafeFileHandle file)
    {
        ArgumentNullException.ThrowIfNull(file);
        DirtyBitmap bitmap;
        try
        {
            if (log.MmapSize == 0)
            {
                throw new ArgumentException("an empty log");
            }

            var fd = (int)file.DangerousGetHandle();
            Mapping.CheckFileRange(fd, log.MmapOffset, log.MmapSize);
            var pageOffset = log.MmapOffset % (ulong)Environment.SystemPageSize;
            var length = log.MmapSize + pageOffset;
            var mapBase = Mapping.MapShared(fd, log.MmapOffset - pageOffset, length, writable: true);
            bitmap = new DirtyBitmap(mapBase + pageOffset, log.MmapSize, baseAddress: 0, () => Mapping.Unmap(mapBase, length));
        }
        catch (Exception e) when (e is ArgumentException or System.ComponentModel.Win32Exception)
        {
            throw new VhostUserProtocolException($"dirty log refused: {e.Message}", e);
        }

        _dirtyLog?.Dispose();
        _dirtyLog = bitmap;
        Republish();
    }

    /// <summary>Whether VHOST_F_LOG_ALL is negotiated: turning it on or off publishes the map again, logging or not.</summary>
    public bool LogAll
    {
        get => _logAll;
        set
        {
            var wasLogging = IsLogging;
            _logAll = value;
            if (IsLogging != wasLogging)
            {
                Republish();
            }
        }
    }

    private static GuestRegion Map(VhostUserMemoryRegion region, SafeFileHandle file)
    {
        if (region.MemorySize == 0 || region.MemorySize > ulong.MaxValue - region.GuestPhysAddr || region.MemorySize > ulong.MaxValue - region.UserspaceAddr
            || region.MemorySize > long.MaxValue || region.MmapOffset > long.MaxValue - region.MemorySize)
        {
            throw new ArgumentException($"region of 0x{region.MemorySize:x} bytes at guest 0x{region.GuestPhysAddr:x} / user 0x{region.UserspaceAddr:x} / offset 0x{region.MmapOffset:x} wraps around");
        }

        return GuestRegion.MapFile(region.GuestPhysAddr, region.MemorySize, file, region.MmapOffset, region.UserspaceAddr);
    }

    private static bool Same(GuestRegion mapped, VhostUserMemoryRegion region) =>
        mapped.GuestAddress == region.GuestPhysAddr && mapped.Size == region.MemorySize && mapped.UserAddress == region.UserspaceAddr;

    private static bool Holds(ReadOnlySpan<GuestRegion> regions, VhostUserMemoryRegion region)
    {
        foreach (var r in regions)
        {
            if (Same(r, region))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Makes <paramref name="memory"/> the map (logging dirty pages when that is on).</summary>
    private void Publish(GuestMemory memory)
    {
        if (IsLogging)
        {
            using var unlogged = memory;
            memory = unlogged.WithDirtyLog(_ => _dirtyLog);
        }

        if (_memory is null)
        {
            Volatile.Write(ref _memory, new AtomicGuestMemory(memory));
        }
        else
        {
            _memory.Swap(memory);
        }

        changed();
    }

    /// <summary>Publishes the current map again, logging into the dirty log or not as things stand now.</summary>
    private void Republish()
    {
        if (Memory is { } memory)
        {
            var logging = IsLogging;
            memory.Update(m => m.WithDirtyLog(logging ? _ => _dirtyLog : null));
            changed();
        }
    }

    public void Dispose()
    {
        _memory?.Dispose();
        _dirtyLog?.Dispose();
    }
}
