using System.Runtime.InteropServices;
using IoVirt.Interop;
using Tmds.Linux;

namespace IoVirt.Backends.Blk.Rbd;

/// <summary>
/// One queue's engine on an <see cref="RbdImage"/>: each operation is a librbd asynchronous call
/// made at once (librbd sends it to the OSDs itself, so a batch needs no submission). librbd
/// completes it on one of its own threads, which queues the result and signals the eventfd
/// that wakes the queue's worker. An operation's state lives in a native slot that librbd is
/// handed as the callback's argument; slots are reused, so the data path allocates nothing
/// once the deepest batch has been seen.
/// </summary>
internal sealed unsafe class RbdBlockEngine : IBlockEngine
{
    private const int SlotsPerChunk = 64;

    private readonly nint _image;
    private readonly EventFd _completions = EventFd.Create();
    private readonly object _lock = new();
    private readonly CompletionQueue _done = new();
    private readonly Stack<nint> _freeSlots = new();
    private readonly List<nint> _chunks = [];
    private GCHandle _self;

    /// <summary>One operation in librbd's hands.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Slot
    {
        public nint Engine;
        public ulong Tag;

        /// <summary>What a successful operation reports: bytes for a write (librbd reports 0), or -1 for librbd's own count (a read).</summary>
        public long Success;

        /// <summary>
        /// A read's iovecs, which librbd keeps a pointer to and reads only when it completes
        /// (a write's it copies at once): the caller's array does not live that long.
        /// </summary>
        public iovec* Vectors;
        public int VectorCapacity;
    }

    public RbdBlockEngine(RbdImage image)
    {
        _image = image.Handle;
        _self = GCHandle.Alloc(this);
    }

    public int CompletionEvent => _completions.Fd;

    public void Read(ulong tag, long offset, ReadOnlySpan<iovec> buffers)
    {
        if (Begin(tag, -1) is var (slot, completion) && completion != 0)
        {
            var vectors = Keep((Slot*)slot, buffers);
            Submitted(slot, completion, RbdNative.ReadV(_image, vectors, buffers.Length, (ulong)offset, completion));
        }
    }

    public void Write(ulong tag, long offset, ReadOnlySpan<iovec> buffers, bool durable)
    {
        // Without a client cache (see RbdConnection) every completed write is on the OSDs, so
        // durable or not, a write is done the same way.
        long bytes = 0;
        foreach (ref readonly var buffer in buffers)
        {
            bytes += (long)(ulong)buffer.iov_len;
        }

        if (Begin(tag, bytes) is var (slot, completion) && completion != 0)
        {
            fixed (iovec* vectors = buffers)
            {
                Submitted(slot, completion, RbdNative.WriteV(_image, vectors, buffers.Length, (ulong)offset, completion));
            }
        }
    }

    public void Flush(ulong tag)
    {
        if (Begin(tag, 0) is var (slot, completion) && completion != 0)
        {
            Submitted(slot, completion, RbdNative.Flush(_image, completion));
        }
    }

    /// <summary>A punched hole is a discard; a zeroed range is written zeros (which librbd may also deallocate).</summary>
    public void Allocate(ulong tag, int mode, long offset, long length)
    {
        if (Begin(tag, 0) is var (slot, completion) && completion != 0)
        {
            Submitted(slot, completion, (mode & BlockFile.FallocPunchHole) != 0
                ? RbdNative.Discard(_image, (ulong)offset, (ulong)length, completion)
                : RbdNative.WriteZeroes(_image, (ulong)offset, (nuint)length, completion, 0, 0));
        }
    }

    /// <summary>librbd sends each operation as it is made.</summary>
    public void Submit()
    {
    }

    public bool TryTakeCompletion(out ulong tag, out int result)
    {
        lock (_lock)
        {
            return _done.TryTake(out tag, out result);
        }
    }

    public void WaitForCompletion()
    {
        while (true)
        {
            lock (_lock)
            {
                if (!_done.IsEmpty)
                {
                    return;
                }
            }

            _completions.Wait(-1);
        }
    }

    /// <summary>A slot for the operation and librbd's completion pointing at it; the completion is 0 when librbd refused to make one (the operation has then failed).</summary>
    private (nint Slot, nint Completion) Begin(ulong tag, long success)
    {
        Slot* slot;
        lock (_lock)
        {
            if (_freeSlots.Count == 0)
            {
                AddChunk();
            }

            slot = (Slot*)_freeSlots.Pop();
        }

        slot->Engine = GCHandle.ToIntPtr(_self);
        slot->Tag = tag;
        slot->Success = success;
        var made = RbdNative.CreateCompletion((nint)slot, &Completed, out var completion);
        if (made < 0)
        {
            Finish(slot, made);
            return ((nint)slot, 0);
        }

        return ((nint)slot, completion);
    }

    /// <summary>After librbd was handed the operation: a refusal completes it at once with librbd's error.</summary>
    private void Submitted(nint slot, nint completion, int result)
    {
        if (result < 0)
        {
            RbdNative.Release(completion);
            Finish((Slot*)slot, result);
        }
    }

    /// <summary>Copies <paramref name="buffers"/> into the slot's own iovec array, grown first if it is too small (the slot is not in librbd's hands yet).</summary>
    private static iovec* Keep(Slot* slot, ReadOnlySpan<iovec> buffers)
    {
        if (slot->VectorCapacity < buffers.Length)
        {
            slot->Vectors = (iovec*)NativeMemory.Realloc(slot->Vectors, (nuint)(buffers.Length * sizeof(iovec)));
            slot->VectorCapacity = buffers.Length;
        }

        buffers.CopyTo(new Span<iovec>(slot->Vectors, buffers.Length));
        return slot->Vectors;
    }

    private void AddChunk()
    {
        var chunk = (Slot*)NativeMemory.AllocZeroed(SlotsPerChunk, (nuint)sizeof(Slot));
        _chunks.Add((nint)chunk);
        for (var i = SlotsPerChunk - 1; i >= 0; i--)
        {
            _freeSlots.Push((nint)(chunk + i));
        }
    }

    /// <summary>On a librbd thread. Nothing here may throw: an exception there ends the process.</summary>
    [UnmanagedCallersOnly]
    private static void Completed(nint completion, nint argument)
    {
        var slot = (Slot*)argument;
        var result = RbdNative.ReturnValue(completion);
        RbdNative.Release(completion);
        var engine = (RbdBlockEngine)GCHandle.FromIntPtr(slot->Engine).Target!;
        engine.Finish(slot, result);
    }

    private void Finish(Slot* slot, nint result)
    {
        var reported = result < 0 ? (int)Math.Max(result, int.MinValue)
            : slot->Success >= 0 ? (int)slot->Success
            : (int)Math.Min(result, int.MaxValue);
        bool first;
        lock (_lock)
        {
            first = _done.IsEmpty;
            _done.Add(slot->Tag, reported);
            _freeSlots.Push((nint)slot);
        }

        // The worker takes completions until none is left (under the lock), so only the first of
        // a run needs to wake it; a signal per completion would cost librbd's thread a system
        // call and the worker an empty wake-up at every completion of a deep queue.
        if (first)
        {
            _completions.Signal();
        }
    }

    /// <summary>Waits for every operation librbd still holds (its callback uses the slots), then frees them.</summary>
    public void Dispose()
    {
        while (true)
        {
            lock (_lock)
            {
                // Every slot made is free again.
                if (_freeSlots.Count == _chunks.Count * SlotsPerChunk)
                {
                    break;
                }
            }

            _completions.Wait(100);
        }

        foreach (var chunk in _chunks)
        {
            for (var i = 0; i < SlotsPerChunk; i++)
            {
                NativeMemory.Free(((Slot*)chunk)[i].Vectors);
            }

            NativeMemory.Free((void*)chunk);
        }

        _chunks.Clear();
        if (_self.IsAllocated)
        {
            _self.Free();
        }

        _completions.Dispose();
    }
}
