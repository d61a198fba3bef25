using System.Runtime.CompilerServices;
using IoVirt.Abi.Virtio;
using IoVirt.Memory;

namespace IoVirt.Virtqueue;

/// <summary>
/// A cursor over one popped descriptor chain: device-readable buffers first, then device-writable
/// ones, following NEXT (split) or consecutive slots (packed) and one level of INDIRECT. Every
/// descriptor is read once into a local copy and validated before it is returned: index, loop
/// bound, indirect rules, direction order, total length and guest-memory bounds. The first
/// violation ends the walk, is kept in <see cref="Error"/> and stops the queue.
/// A ref struct because it points into guest memory that is only valid under the caller's lease.
/// </summary>
public unsafe ref struct DescriptorChain
{
    /// <summary>Largest indirect table accepted: 2^16 entries, all a 16-bit index can name.</summary>
    public const uint MaxIndirectEntries = 65536;

    private readonly DeviceQueue _queue;
    private readonly GuestMemory _memory;
    private readonly bool _packed;
    private byte* _table;
    private uint _tableSize;
    private uint _index;
    private uint _left;
    private ulong _total;
    private bool _inIndirect;
    private bool _sawWritable;
    private bool _finished;

    internal DescriptorChain(DeviceQueue queue, bool packed, byte* table, uint tableSize, uint first, uint limit, ChainHead head)
    {
        _queue = queue;
        _memory = queue.Memory; // the snapshot the queue resolved its ring in; read once per chain, not per descriptor
        _packed = packed;
        _table = table;
        _tableSize = tableSize;
        _index = first;
        _left = limit;
        Head = head;
    }

    /// <summary>What to pass to <see cref="DeviceQueue.AddUsed"/> to complete this chain.</summary>
    public ChainHead Head { get; }

    /// <summary>Why the walk stopped early, or <see cref="QueueError.None"/>.</summary>
    public QueueError Error { get; private set; }

    /// <summary>Device-readable bytes returned so far.</summary>
    public uint ReadableBytes { get; private set; }

    /// <summary>Device-writable bytes returned so far.</summary>
    public uint WritableBytes { get; private set; }

    /// <summary>Returns the next buffer; false at the end of the chain or on an error (see <see cref="Error"/>).</summary>
    public bool TryGetNext(out VirtqBuffer buffer)
    {
        buffer = default;
        while (!_finished)
        {
            if (_left == 0)
            {
                // Split: the previous descriptor had NEXT, but the table cannot hold a longer chain.
                return Fail(QueueError.ChainTooLong);
            }

            if (_index >= _tableSize)
            {
                return Fail(QueueError.DescriptorIndexOutOfRange);
            }

            // One read of the descriptor into locals: the guest may rewrite it concurrently, so
            // everything below validates and uses only this copy.
            ulong address;
            uint length;
            ushort flags;
            ushort next;
            if (_packed)
            {
                var d = ((PackedDesc*)_table)[_index];
                address = d.Addr;
                length = d.Len;
                flags = (ushort)d.Flags;
                next = 0;
            }
            else
            {
                var d = ((VirtqDesc*)_table)[_index];
                address = d.Addr;
                length = d.Len;
                flags = (ushort)d.Flags;
                next = d.Next;
            }

            _left--;
            if ((flags & (ushort)VirtqDescFlags.Indirect) != 0)
            {
                var error = EnterIndirect(address, length, flags);
                if (error != QueueError.None)
                {
                    return Fail(error);
                }

                continue;
            }

            var writable = (flags & (ushort)VirtqDescFlags.Write) != 0;
            if (!writable && _sawWritable)
            {
                return Fail(QueueError.ReadableAfterWritable);
            }

            _total += length;
            if (_total > uint.MaxValue)
            {
                return Fail(QueueError.TotalLengthOverflow);
            }

            var fault = _memory.TryGetPointer(address, length, out var host);
            if (fault != MemoryFault.None && fault != MemoryFault.NotContiguous)
            {
                return Fail(QueueError.BufferOutsideMemory);
            }

            Advance(flags, next);
            if (writable)
            {
                _sawWritable = true;
                WritableBytes += length;
            }
            else
            {
                ReadableBytes += length;
            }

            buffer = new VirtqBuffer(address, length, writable, host);
            return true;
        }

        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Advance(ushort flags, ushort next)
    {
        if (_packed)
        {
            // Packed chains are consecutive slots (the ring wraps); their length was counted at pop.
            _finished = _left == 0;
            _index = _inIndirect || _index + 1 < _tableSize ? _index + 1 : 0;
        }
        else if ((flags & (ushort)VirtqDescFlags.Next) != 0)
        {
            _index = next;
        }
        else
        {
            _finished = true;
        }
    }

    private QueueError EnterIndirect(ulong address, uint length, ushort flags)
    {
        if (_inIndirect)
        {
            return QueueError.NestedIndirect;
        }

        if (!_queue.Config.IndirectDescriptors)
        {
            return QueueError.IndirectNotNegotiated;
        }

        // Split: an indirect descriptor ends the chain, so it cannot have NEXT. Packed: it must be
        // the chain's only ring slot. The pop checked that on its read of the flags, but the driver
        // may have rewritten a slot since (the last one too), so check this copy against the chain.
        if (_packed ? Head.RingDescriptors != 1 : (flags & (ushort)VirtqDescFlags.Next) != 0)
        {
            return QueueError.IndirectWithNext;
        }

        if (length == 0)
        {
            return QueueError.IndirectTableEmpty;
        }

        if (length % VirtqDesc.Size != 0)
        {
            return QueueError.IndirectTableMisSized;
        }

        var entries = length / VirtqDesc.Size;
        if (entries > MaxIndirectEntries)
        {
            return QueueError.IndirectTableTooLarge;
        }

        if (_memory.TryGetPointer(address, length, out var table) != MemoryFault.None)
        {
            return QueueError.IndirectTableOutsideMemory;
        }

        _table = table;
        _tableSize = entries;
        _index = 0;
        _left = entries;
        _inIndirect = true;
        return QueueError.None;
    }

    private bool Fail(QueueError error)
    {
        Error = error;
        _finished = true;
        _queue.ReportFault(error);
        return false;
    }
}
