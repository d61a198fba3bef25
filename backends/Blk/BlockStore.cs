using System.Runtime.InteropServices;
using IoVirt.Interop;
using Tmds.Linux;

namespace IoVirt.Backends.Blk;

/// <summary>
/// The image a block device serves: a file, block device or RAM disk, opened once for buffered
/// I/O and, with O_DIRECT wanted, once more for direct I/O (used for requests aligned to the
/// logical block size; the rest go through the page cache, which Linux keeps coherent).
/// </summary>
public sealed unsafe class BlockStore : IBlockImage
{
    private byte* _mapping;
    private MappingPrefault? _prefault;
    private string? _whyNotMappable;

    private BlockStore(BlockFile buffered, BlockFile? direct, bool readOnly)
    {
        Buffered = buffered;
        Direct = direct;
        ReadOnly = readOnly;
    }

    public BlockFile Buffered { get; }

    public BlockFile? Direct { get; }

    public bool ReadOnly { get; }

    /// <summary>Bytes; the device exposes whole 512-byte sectors of it.</summary>
    public ulong Size => Buffered.Size;

    public string Name => Buffered.Name;

    /// <summary>
    /// Opens an image file or block device, locked against a second back end; with
    /// <paramref name="shared"/>, only against one that is not shared too (see <see cref="BlockFile.Lock"/>).
    /// </summary>
    public static BlockStore Open(string path, bool readOnly, bool direct, bool shared = false)
    {
        var buffered = BlockFile.Open(path, readOnly, direct: false);
        BlockFile? directFile = null;
        try
        {
            buffered.Lock(TimeSpan.FromSeconds(3), shared);
            if (direct)
            {
                directFile = BlockFile.Open(path, readOnly, direct: true);
            }

            return new BlockStore(buffered, directFile, readOnly);
        }
        catch
        {
            buffered.Dispose();
            directFile?.Dispose();
            throw;
        }
    }

    /// <summary>A RAM disk of <paramref name="size"/> bytes: a memfd whose pages exist once written.</summary>
    public static BlockStore CreateRam(ulong size, bool readOnly = false)
    {
        if (size < VirtioBlkSector || size % VirtioBlkSector != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "A RAM disk is a positive whole number of 512-byte sectors.");
        }

        return new BlockStore(BlockFile.CreateMemory("iovirt-ramdisk", size), null, readOnly);
    }

    private const ulong VirtioBlkSector = 512;

    /// <summary>
    /// The file an I/O at <paramref name="offset"/> into <paramref name="buffers"/> goes through:
    /// the O_DIRECT one when there is one and every address and length is block-aligned.
    /// </summary>
    public unsafe BlockFile FileFor(long offset, ReadOnlySpan<iovec> buffers)
    {
        if (Direct is null)
        {
            return Buffered;
        }

        var mask = (ulong)Direct.LogicalBlockSize - 1;
        if (((ulong)offset & mask) != 0)
        {
            return Buffered;
        }

        foreach (ref readonly var buffer in buffers)
        {
            if ((((ulong)buffer.iov_base | (ulong)buffer.iov_len) & mask) != 0)
            {
                return Buffered;
            }
        }

        return Direct;
    }

    /// <summary>
    /// Why the image cannot be served through a mapping, or empty when it can: it must be in RAM,
    /// and every page of it must exist, as a mapping that touches a page a full tmpfs cannot
    /// supply gets SIGBUS, which no handler survives. A writable tmpfs file is allocated whole
    /// now (so a full file system is found here, not by a guest's write); a read-only one must
    /// already be. A RAM disk has no file system limit. Checked once.
    /// </summary>
    public string WhyNotMappable => _whyNotMappable ??= CheckMappable();

    private string CheckMappable()
    {
        if (!Buffered.IsMemoryBacked)
        {
            return $"{Name} is not in RAM (tmpfs or a RAM disk)";
        }

        if (Buffered.IsAnonymousMemory || Buffered.AllocatedBytes >= Size)
        {
            return string.Empty;
        }

        if (ReadOnly)
        {
            return $"{Name} has holes, and it is read-only, so they cannot be filled: a mapping could find no page there";
        }

        var result = Buffered.Allocate(0, 0, (long)Size);
        return result == 0 ? string.Empty : $"{Name} cannot be held whole in its file system ({Marshal.GetPInvokeErrorMessage(-result)}), and a mapping must never touch a page that cannot exist";
    }

    /// <summary>
    /// The image mapped shared (read-only for a read-only store), made on first use and kept
    /// until the store is disposed; only for an image in RAM, where a mapping is the data itself.
    /// </summary>
    public byte* Mapping
    {
        get
        {
            if (_mapping == null)
            {
                if (WhyNotMappable is { Length: > 0 } reason)
                {
                    throw new InvalidOperationException(reason);
                }

                _mapping = IoVirt.Interop.Mapping.MapShared(Buffered.Fd, 0, Size, writable: !ReadOnly);

                // Huge pages where tmpfs allows them: a random working set of 4 KiB pages costs a
                // TLB miss per request, and under a shadow-paging hypervisor an exit per page too.
                IoVirt.Interop.Mapping.AdviseHugePages(_mapping, Size);
                _prefault = new MappingPrefault(_mapping, Buffered, writtenOnly: Buffered.IsAnonymousMemory);
            }

            return _mapping;
        }
    }

    public uint LogicalBlockSize => Buffered.LogicalBlockSize;

    public uint PhysicalBlockSize => Buffered.PhysicalBlockSize;

    public int ZeroingMode(bool unmap) =>
        BlockFile.FallocKeepSize | (unmap || Buffered.IsMemoryBacked
            // tmpfs has no zeroed-but-allocated state: a hole is what reads as zeros there.
            ? BlockFile.FallocPunchHole
            : BlockFile.FallocZeroRange);

    /// <summary>
    /// Auto is Mapped for an image in RAM that can be held whole (<see cref="WhyNotMappable"/>),
    /// where a copy straight from a mapping is fastest (io_uring hands such files, which have no
    /// non-blocking path, to its worker threads), and Uring otherwise: there a full tmpfs is an
    /// I/O error for the guest's request, where a mapping would take the process down.
    /// </summary>
    public BlockEngineKind ResolveEngine(BlockEngineKind requested)
    {
        var engine = requested != BlockEngineKind.Auto ? requested
            : Buffered.IsMemoryBacked && WhyNotMappable.Length == 0 ? BlockEngineKind.Mapped : BlockEngineKind.Uring;
        return engine switch
        {
            BlockEngineKind.Mapped when WhyNotMappable is { Length: > 0 } reason =>
                throw new ArgumentException($"the mapped engine cannot serve this image: {reason}"),
            BlockEngineKind.Rbd => throw new ArgumentException($"the rbd engine serves rbd: images only, not {Name}"),
            _ => engine,
        };
    }

    public IBlockEngine CreateEngine(BlockEngineKind kind, int depth, int? submissionPollCpu, bool fixedBuffers = false) => kind switch
    {
        BlockEngineKind.Uring => new UringBlockEngine(this, depth, submissionPollCpu, fixedBuffers),
        BlockEngineKind.Sync => new SyncBlockEngine(this),
        BlockEngineKind.Null => new NullBlockEngine(),
        BlockEngineKind.Mapped => new MappedBlockEngine(this),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public void Dispose()
    {
        if (_mapping != null)
        {
            _prefault?.Dispose();
            IoVirt.Interop.Mapping.Unmap(_mapping, Size);
            _mapping = null;
        }

        Direct?.Dispose();
        Buffered.Dispose();
    }
}
