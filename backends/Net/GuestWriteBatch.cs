using IoVirt.Memory;

namespace IoVirt.Backends.Net;

/// <summary>
/// Small writes into guest buffers, held back and then made back to back at the end of a burst.
/// A receive buffer's cache lines were last touched by the driver's CPU, so each write waits for
/// them to come over. Made one packet at a time, among the descriptor walk, the used element and
/// the counters (stores too, queued behind them), only a few such writes are in flight at once; a
/// run of nothing but the writes keeps many in flight. DPDK's vhost batches its small copies the
/// same way. Measured: 1.36-1.43x the frames a second of `iovirt net --mode source` and 1.37x of
/// the echo ping-pong, each against the same build writing at once (flipped every 0.5 s in one
/// process, so both saw the same machine). Allocates nothing.
/// </summary>
internal sealed unsafe class GuestWriteBatch
{
    /// <summary>Largest write held back (as DPDK's); larger ones stream well on their own and go at once.</summary>
    public const int MaxWrite = 256;

    private readonly byte[] _data;
    private readonly Pending[] _pending;
    private int _count;

    public GuestWriteBatch(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _data = GC.AllocateUninitializedArray<byte>(capacity * MaxWrite, pinned: true);
        _pending = new Pending[capacity];
    }

    /// <summary>
    /// Writes <paramref name="source"/> to <paramref name="host"/>, the mapping of guest address
    /// <paramref name="guestAddress"/> in <paramref name="memory"/>: held back until
    /// <see cref="Flush"/> (the mapping must last until then), or at once, and marked dirty, when
    /// it is too large or the batch is full.
    /// </summary>
    public void Write(ReadOnlySpan<byte> source, byte* host, ulong guestAddress, GuestMemory memory)
    {
        if (source.Length > MaxWrite || _count == _pending.Length)
        {
            source.CopyTo(new Span<byte>(host, source.Length));
            memory.MarkDirty(guestAddress, (ulong)source.Length);
            return;
        }

        source.CopyTo(_data.AsSpan(_count * MaxWrite, source.Length));
        _pending[_count++] = new Pending((nint)host, guestAddress, source.Length);
    }

    /// <summary>
    /// Makes the held writes, then marks them dirty in <paramref name="memory"/>'s log: after, so
    /// that a migration reading the log in between cannot take a page without its new bytes.
    /// </summary>
    public void Flush(GuestMemory memory)
    {
        fixed (byte* data = _data)
        {
            for (var i = 0; i < _count; i++)
            {
                ref readonly var write = ref _pending[i];
                Buffer.MemoryCopy(data + (i * MaxWrite), (void*)write.Host, write.Length, write.Length);
            }
        }

        if (memory.IsDirtyLogging)
        {
            for (var i = 0; i < _count; i++)
            {
                memory.MarkDirty(_pending[i].GuestAddress, (ulong)_pending[i].Length);
            }
        }

        _count = 0;
    }

    private readonly record struct Pending(nint Host, ulong GuestAddress, int Length);
}
