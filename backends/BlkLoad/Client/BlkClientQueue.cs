using System.Buffers.Binary;
using IoVirt.Abi.Blk;
using IoVirt.Memory;
using IoVirt.VhostUser;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Backends.Blk.Client;

/// <summary>
/// One request queue of a <see cref="BlkClient"/>: its ring and its fixed set of request slots,
/// each with a header, a data buffer and a status byte in the client's shared memory. One
/// thread drives a queue; the queues of one client can be driven by as many threads at once.
/// </summary>
public sealed class BlkClientQueue : IDisposable
{
    /// <summary>Descriptors of one request: header, data, status.</summary>
    internal const int ChainLength = 3;

    internal const int HeaderStride = 64;

    private readonly FrontendQueue _queue;
    private readonly GuestRegion _region;
    private readonly int[] _slotOfId = new int[ushort.MaxValue + 1];
    private readonly ulong _dataBase;
    private readonly ulong _headerBase;
    private readonly ulong _statusBase;
    private readonly int _blockStride;
    private readonly int _maxBlockSize;

    /// <summary>Each request is one indirect table (one ring slot) when the back end offers INDIRECT_DESC.</summary>
    private readonly bool _indirect;

    internal BlkClientQueue(FrontendQueue queue, GuestRegion region, ulong slotsBase, int slots, int blockStride, int maxBlockSize, bool indirect)
    {
        _queue = queue;
        _region = region;
        Slots = slots;
        _blockStride = blockStride;
        _maxBlockSize = maxBlockSize;
        _indirect = indirect;
        _dataBase = slotsBase;
        _headerBase = _dataBase + ((ulong)blockStride * (ulong)slots);
        _statusBase = _headerBase + ((ulong)HeaderStride * (ulong)slots);
    }

    /// <summary>Guest memory the slots of one queue take: data buffers, headers and status bytes.</summary>
    internal static ulong SlotBytes(int slots, int blockStride) => (ulong)slots * ((ulong)blockStride + HeaderStride + 1);

    /// <summary>The queue's index on the device.</summary>
    public int Index => (int)_queue.Index;

    public int Slots { get; }

    /// <summary>Requests added and not completed yet.</summary>
    public int Outstanding => _queue.Driver.Outstanding;

    /// <summary>The data buffer of <paramref name="slot"/> (<see cref="BlkClientOptions.MaxBlockSize"/> bytes).</summary>
    public unsafe Span<byte> Data(int slot) => new(_region.Host + _dataBase + ((ulong)slot * (ulong)_blockStride), _maxBlockSize);

    /// <summary>
    /// Adds a request in <paramref name="slot"/> (not yet visible to the back end: see
    /// <see cref="Publish"/>): IN/OUT move <paramref name="length"/> bytes of the slot's data
    /// buffer, GET_ID reads 20 bytes, DISCARD/WRITE_ZEROES send the range already written at the
    /// start of the data buffer (<paramref name="length"/> bytes of 16-byte entries).
    /// </summary>
    public unsafe void Add(int slot, VirtioBlkRequestType type, ulong sector, int length)
    {
        var header = _headerBase + ((ulong)slot * HeaderStride);
        var data = _dataBase + ((ulong)slot * (ulong)_blockStride);
        var status = _statusBase + (ulong)slot;
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(_region.Host + header, 4), (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(_region.Host + header + 4, 4), 0);
        BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(_region.Host + header + 8, 8), sector);
        _region.Host[status] = 0xff;
        var deviceWrites = type is VirtioBlkRequestType.In or VirtioBlkRequestType.GetId;
        Span<DriverBuffer> chain = stackalloc DriverBuffer[ChainLength];
        chain[0] = new DriverBuffer(header, VirtioBlkReqHeader.Size, false);
        var count = 1;
        if (length > 0)
        {
            chain[count++] = new DriverBuffer(data, (uint)length, deviceWrites);
        }

        chain[count++] = new DriverBuffer(status, 1, true);
        if (!_queue.Driver.TryAdd(chain[..count], _indirect, out var id))
        {
            throw new InvalidOperationException("the ring is full; complete requests before adding more");
        }

        _slotOfId[id] = slot;
    }

    /// <summary>Makes the added requests visible and kicks the back end if it asked for it.</summary>
    public void Publish() => _queue.Submit();

    /// <summary>Takes one completed request without waiting.</summary>
    public bool TryComplete(out int slot, out VirtioBlkStatus status) =>
        Completed(_queue.Driver.TryTakeUsed(out var id, out _), id, out slot, out status);

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a completion, sleeping on the call eventfd.</summary>
    public bool WaitComplete(out int slot, out VirtioBlkStatus status, int timeoutMs) =>
        Completed(_queue.TryWaitUsed(out var id, out _, timeoutMs), id, out slot, out status);

    /// <summary>The slot and status of the request with chain <paramref name="id"/>, when one <paramref name="completed"/>.</summary>
    private unsafe bool Completed(bool completed, ushort id, out int slot, out VirtioBlkStatus status)
    {
        if (!completed)
        {
            slot = -1;
            status = 0;
            return false;
        }

        slot = _slotOfId[id];
        status = (VirtioBlkStatus)_region.Host[_statusBase + (ulong)slot];
        return true;
    }

    /// <summary>Runs one request in slot 0 and waits for it; throws after <paramref name="timeoutMs"/>.</summary>
    public VirtioBlkStatus Execute(VirtioBlkRequestType type, ulong sector, int length, int timeoutMs = 10_000)
    {
        Add(0, type, sector, length);
        Publish();
        return WaitComplete(out _, out var status, timeoutMs) ? status : throw new TimeoutException($"{type} at sector {sector} did not complete in {timeoutMs} ms");
    }

    public void Dispose() => _queue.Dispose();
}
