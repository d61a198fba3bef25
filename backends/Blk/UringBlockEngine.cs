using System.Numerics;
using System.Runtime.InteropServices;
using IoVirt.Interop;
using IoVirt.Memory;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Backends.Blk;

/// <summary>
/// The io_uring engine: every operation of a batch becomes one submission entry on the queue's
/// own ring, the image registered as a fixed file, and one io_uring_enter submits the batch.
/// The kernel signals an eventfd as operations finish, which wakes the queue's worker. Guest
/// memory may be registered as fixed buffers: an operation on one buffer inside it (a 4 KiB
/// request, say) then goes as READ_FIXED or WRITE_FIXED on pages pinned once, not resolved again
/// each time; others, and all of them where the kernel will not pin the memory, go as vectors.
/// </summary>
internal sealed unsafe class UringBlockEngine : IBlockEngine
{
    /// <summary>iovecs held for entries not yet submitted; a batch that would need more is submitted first.</summary>
    private const int VectorCapacity = 4096;

    private readonly BlockStore _store;
    private readonly IoUring _ring;
    private readonly EventFd _completions = EventFd.Create();
    private readonly bool _registersMemory;
    private readonly iovec* _vectors;
    private int _vectorsUsed;

    /// <summary>The registered fixed buffers, by index: guest memory in pieces of at most 1 GiB.</summary>
    private iovec[] _fixed = [];

    /// <summary>The regions (host address, size) <see cref="UseMemory"/> last registered, or tried to.</summary>
    private (nint Host, ulong Size)[] _fixedFor = [];

    /// <summary>
    /// An engine for <paramref name="depth"/> operations in flight; with a
    /// <paramref name="submissionPollCpu"/>, a kernel thread on that CPU takes the submissions;
    /// with <paramref name="fixedBuffers"/>, guest memory given to <see cref="UseMemory"/> is
    /// registered with the kernel (see <see cref="BlkDeviceOptions.FixedBuffers"/>).
    /// </summary>
    public UringBlockEngine(BlockStore store, int depth, int? submissionPollCpu, bool fixedBuffers)
    {
        _store = store;
        _registersMemory = fixedBuffers;
        _ring = new IoUring((uint)Math.Max(16, (int)BitOperations.RoundUpToPowerOf2((uint)depth)), disabled: true, submissionPollCpu);
        try
        {
            _ring.RegisterFiles(store.Direct is null ? [store.Buffered.Fd] : [store.Buffered.Fd, store.Direct.Fd]);
            _ring.RegisterEventFd(_completions.Fd);

            // What this engine submits, on its registered files only; nothing else, ever.
            byte[] operations = [IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC, IORING_OP_FALLOCATE];
            _ring.RestrictTo(fixedBuffers ? [.. operations, IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED] : operations, (byte)IOSQE_FIXED_FILE, buffers: fixedBuffers);
        }
        catch
        {
            _ring.Dispose();
            _completions.Dispose();
            throw;
        }

        _vectors = (iovec*)NativeMemory.Alloc(VectorCapacity, (nuint)sizeof(iovec));
    }

    public int CompletionEvent => _completions.Fd;

    public string? UseMemory(GuestMemory memory)
    {
        var regions = memory.Regions;
        if (!_registersMemory || SameRegions(regions))
        {
            return null;
        }

        // The new map's regions in pieces the kernel takes; operations in flight keep the old ones.
        _fixedFor = new (nint, ulong)[regions.Length];
        var pieces = new List<iovec>();
        for (var i = 0; i < regions.Length; i++)
        {
            var region = regions[i];
            _fixedFor[i] = ((nint)region.Host, region.Size);
            for (ulong at = 0; at < region.Size; at += IoUring.MaxFixedBuffer)
            {
                pieces.Add(new iovec { iov_base = region.Host + at, iov_len = (size_t)Math.Min(IoUring.MaxFixedBuffer, region.Size - at) });
            }
        }

        var wanted = pieces.ToArray();
        var bytes = wanted.Sum(p => (long)(ulong)p.iov_len);
        var error = _ring.TryRegisterBuffers(wanted);
        _fixed = error == 0 ? wanted : [];
        return error == 0
            ? $"io_uring: guest memory ({bytes >> 20} MiB) registered as {wanted.Length} fixed buffer(s)"
            : $"io_uring: guest memory ({bytes >> 20} MiB) not registered as fixed buffers ({Marshal.GetPInvokeErrorMessage(error)}); operations pass their buffers as vectors";
    }

    private bool SameRegions(ReadOnlySpan<GuestRegion> regions)
    {
        if (regions.Length != _fixedFor.Length)
        {
            return false;
        }

        for (var i = 0; i < regions.Length; i++)
        {
            if ((nint)regions[i].Host != _fixedFor[i].Host || regions[i].Size != _fixedFor[i].Size)
            {
                return false;
            }
        }

        return true;
    }

    public void Read(ulong tag, long offset, ReadOnlySpan<iovec> buffers) =>
        Transfer(IORING_OP_READV, IORING_OP_READ_FIXED, tag, offset, buffers, 0);

    public void Write(ulong tag, long offset, ReadOnlySpan<iovec> buffers, bool durable) =>
        Transfer(IORING_OP_WRITEV, IORING_OP_WRITE_FIXED, tag, offset, buffers, durable ? BlockFile.RwfDsync : 0);

    /// <summary>One read or write: on a fixed buffer when its one buffer lies in one, else with its iovecs.</summary>
    private void Transfer(byte vectored, byte fixedOpcode, ulong tag, long offset, ReadOnlySpan<iovec> buffers, int rwFlags)
    {
        var fileIndex = _store.FileFor(offset, buffers) == _store.Buffered ? 0 : 1;
        io_uring_sqe* sqe;
        if (buffers.Length == 1 && TryFindFixed(buffers[0], out var index))
        {
            sqe = Entry(tag, fixedOpcode, fileIndex);
            sqe->addr = (ulong)buffers[0].iov_base;
            sqe->len = (uint)(ulong)buffers[0].iov_len;
            sqe->buf_index = (ushort)index;
        }
        else
        {
            var vectors = HoldVectors(buffers);
            sqe = Entry(tag, vectored, fileIndex);
            sqe->addr = (ulong)vectors;
            sqe->len = (uint)buffers.Length;
        }

        sqe->off = (ulong)offset;
        sqe->rw_flags = rwFlags;
    }

    /// <summary>The fixed buffer that holds all of <paramref name="buffer"/>, if one does.</summary>
    private bool TryFindFixed(in iovec buffer, out int index)
    {
        var start = (ulong)buffer.iov_base;
        var length = (ulong)buffer.iov_len;
        for (index = 0; index < _fixed.Length; index++)
        {
            var piece = _fixed[index];
            if (length <= (ulong)piece.iov_len && start >= (ulong)piece.iov_base && start - (ulong)piece.iov_base <= (ulong)piece.iov_len - length)
            {
                return true;
            }
        }

        return false;
    }

    public void Flush(ulong tag)
    {
        var sqe = Entry(tag, IORING_OP_FSYNC, fileIndex: 0);
        sqe->fsync_flags = IORING_FSYNC_DATASYNC;
    }

    public void Allocate(ulong tag, int mode, long offset, long length)
    {
        // io_uring's fallocate takes the offset in off, the length in addr and the mode in len.
        var sqe = Entry(tag, IORING_OP_FALLOCATE, fileIndex: 0);
        sqe->off = (ulong)offset;
        sqe->addr = (ulong)length;
        sqe->len = (uint)mode;
    }

    /// <summary>Copies <paramref name="buffers"/> into the iovec array, for an entry to point at until the kernel takes it.</summary>
    private iovec* HoldVectors(ReadOnlySpan<iovec> buffers)
    {
        if (buffers.Length > VectorCapacity)
        {
            throw new ArgumentException($"{buffers.Length} buffers in one operation; at most {VectorCapacity}.", nameof(buffers));
        }

        if (_vectorsUsed + buffers.Length > VectorCapacity)
        {
            // The array is reused only once the kernel has taken every entry that points into it
            // (a kernel-polled ring takes them in its own time; a busy kernel may take some later).
            Submit();
            while (_vectorsUsed != 0)
            {
                Thread.Yield();
                Submit();
            }
        }

        var vectors = _vectors + _vectorsUsed;
        buffers.CopyTo(new Span<iovec>(vectors, buffers.Length));
        _vectorsUsed += buffers.Length;
        return vectors;
    }

    private io_uring_sqe* Entry(ulong tag, byte opcode, int fileIndex)
    {
        var sqe = _ring.TryGetEntry();
        while (sqe == null)
        {
            // Every slot waits for the kernel: submit them; if it is short of resources, wait for one to finish.
            if (!_ring.Submit())
            {
                _ring.Submit(waitFor: 1);
            }

            sqe = _ring.TryGetEntry();
        }

        sqe->opcode = opcode;
        sqe->flags = (byte)IOSQE_FIXED_FILE;
        sqe->fd = fileIndex;
        sqe->user_data = tag;
        return sqe;
    }

    public void Submit()
    {
        while (!_ring.Submit())
        {
            _ring.Submit(waitFor: 1);
        }

        ReclaimVectors();
    }

    /// <summary>Stable submissions: once the kernel has taken every entry, it has copied every iovec it was handed.</summary>
    private void ReclaimVectors()
    {
        if (_ring.Consumed)
        {
            _vectorsUsed = 0;
        }
    }

    public bool TryTakeCompletion(out ulong tag, out int result) => _ring.TryTakeCompletion(out tag, out result);

    public void WaitForCompletion() => _ring.Submit(waitFor: 1);

    public void Dispose()
    {
        _ring.Dispose();
        _completions.Dispose();
        NativeMemory.Free(_vectors);
    }
}
