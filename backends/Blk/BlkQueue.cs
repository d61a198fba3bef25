using System.Diagnostics;
using System.Runtime.InteropServices;
using IoVirt.Abi.Blk;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using Tmds.Linux;

namespace IoVirt.Backends.Blk;

/// <summary>
/// One request queue of a block device with its own engine: pops a batch, parses and checks
/// each request, turns the valid ones into engine operations submitted together, and completes
/// requests as their operations finish (status byte, dirty log, used ring). Requests in flight
/// keep the guest memory map they point into mapped until they complete.
/// </summary>
internal sealed unsafe class BlkQueue : IDisposable
{
    /// <summary>Requests popped before their operations are submitted together.</summary>
    private const int Batch = 32;

    /// <summary>Host buffers one request may become (a guest buffer that crosses regions becomes several).</summary>
    private const int MaxVectors = 1024;

    private readonly BlkDevice _device;
    private readonly IBlockEngine _engine;
    private readonly VirtqBuffer[] _segments;
    private readonly BlkRange[] _ranges;
    private readonly iovec* _vectors;
    private InFlightRequest[] _slots = [];
    private int[] _free = [];
    private int _freeCount;

    public BlkQueue(BlkDevice device, IBlockEngine engine)
    {
        _device = device;
        _engine = engine;
        _segments = new VirtqBuffer[BlkDevice.SegMax + 1];
        _ranges = new BlkRange[BlkDevice.MaxRanges];
        _vectors = (iovec*)NativeMemory.Alloc(MaxVectors, (nuint)sizeof(iovec));
    }

    public int CompletionEvent => _engine.CompletionEvent;

    /// <summary>This queue's request counters (written by its worker only).</summary>
    public BlkCounters Counters { get; } = new();

    /// <summary>Requests whose operations have not all finished.</summary>
    public int InFlight => _slots.Length - _freeCount;

    /// <summary>Finishes what completed, then takes new requests until the ring is empty.</summary>
    public void Process(DeviceQueue queue)
    {
        EnsureSlots(queue.Size);
        if (_engine.UseMemory(queue.Memory) is { } change)
        {
            _device.ReportEngineChange(change);
        }

        Reap(queue);
        while (!queue.IsBroken)
        {
            var started = 0;
            while (started < Batch && _freeCount > 0 && queue.TryPop(out var chain))
            {
                started++;
                Start(queue, ref chain);
                if (queue.IsBroken)
                {
                    break;
                }
            }

            if (started == 0)
            {
                break;
            }

            _engine.Submit();
            Reap(queue);
        }
    }

    /// <summary>Waits for every request in flight and completes it (the ring is stopping).</summary>
    public void Quiesce(DeviceQueue queue)
    {
        _engine.Submit();
        while (InFlight > 0)
        {
            Reap(queue);
            if (InFlight > 0)
            {
                _engine.WaitForCompletion();
            }
        }
    }

    /// <summary>Waits for every operation in flight and forgets its request (the front end is gone; the inflight buffer still has it).</summary>
    public void Abandon()
    {
        _engine.Submit();
        while (InFlight > 0)
        {
            while (_engine.TryTakeCompletion(out var tag, out _))
            {
                ref var slot = ref _slots[(int)tag];
                if (--slot.PendingOperations == 0)
                {
                    Release(ref slot, (int)tag);
                }
            }

            if (InFlight > 0)
            {
                _engine.WaitForCompletion();
            }
        }
    }

    private void EnsureSlots(int size)
    {
        if (_slots.Length >= size)
        {
            return;
        }

        // A ring holds at most Size chains; the table only grows, and only before its first use at a size.
        Abandon();
        _slots = new InFlightRequest[size];
        _free = new int[size];
        for (var i = 0; i < size; i++)
        {
            _free[i] = size - 1 - i;
        }

        _freeCount = size;
    }

    private void Start(DeviceQueue queue, ref DescriptorChain chain)
    {
        var memory = queue.Memory;
        BlkRequestParser.Parse(ref chain, memory, _device.Limits, _segments, _ranges, out var request);
        switch (request.Verdict)
        {
            case BlkVerdict.BrokenChain:
                if (!queue.IsBroken)
                {
                    Counters.BadRequest();
                    queue.AddUsed(chain.Head, 0);
                }

                return;
            case BlkVerdict.NoStatus:
                Counters.BadRequest();
                queue.AddUsed(chain.Head, 0);
                return;
            case BlkVerdict.Complete:
                Finish(queue, chain.Head, request.StatusAddress, request.WritableBytes, request.Status);
                return;
        }

        switch (request.Type)
        {
            case VirtioBlkRequestType.GetId:
                WriteId(memory, request.SegmentCount);
                Finish(queue, chain.Head, request.StatusAddress, request.WritableBytes, VirtioBlkStatus.Ok);
                return;
            case VirtioBlkRequestType.In or VirtioBlkRequestType.Out when request.DataLength == 0:
                Finish(queue, chain.Head, request.StatusAddress, request.WritableBytes, VirtioBlkStatus.Ok);
                return;
        }

        var vectors = 0;
        if (request.Type is VirtioBlkRequestType.In or VirtioBlkRequestType.Out)
        {
            vectors = BuildVectors(memory, request.SegmentCount);
            if (vectors < 0)
            {
                Finish(queue, chain.Head, request.StatusAddress, request.WritableBytes, VirtioBlkStatus.IoError);
                return;
            }
        }

        var tag = _free[--_freeCount];
        ref var slot = ref _slots[tag];
        slot = new InFlightRequest
        {
            DirtySegments = slot.DirtySegments,
            Head = chain.Head,
            StatusAddress = request.StatusAddress,
            WritableBytes = request.WritableBytes,
            Type = request.Type,
            ExpectedBytes = (int)request.DataLength,
            Memory = memory.Retain(),
            Started = _device.Metrics is { TimesRequests: true } ? Stopwatch.GetTimestamp() : 0,
        };
        if (request.Type == VirtioBlkRequestType.In && memory.IsDirtyLogging)
        {
            RememberForDirtyLog(ref slot, request.SegmentCount);
        }

        var buffers = new ReadOnlySpan<iovec>(_vectors, vectors);
        switch (request.Type)
        {
            case VirtioBlkRequestType.In:
                slot.PendingOperations = 1;
                _engine.Read((ulong)tag, _device.VolumeOffset + request.Offset, buffers);
                Counters.Read(request.DataLength);
                break;
            case VirtioBlkRequestType.Out:
                slot.PendingOperations = 1;
                _engine.Write((ulong)tag, _device.VolumeOffset + request.Offset, buffers, durable: !_device.WriteCacheEnabled);
                Counters.Written(request.DataLength);
                break;
            case VirtioBlkRequestType.Flush:
                slot.PendingOperations = 1;
                _engine.Flush((ulong)tag);
                Counters.Flushed();
                break;
            default:
                slot.PendingOperations = request.RangeCount;
                for (var i = 0; i < request.RangeCount; i++)
                {
                    var range = _ranges[i];
                    _engine.Allocate((ulong)tag, _device.AllocateMode(range), _device.VolumeOffset + range.Offset, range.Length);
                }

                Counters.Discarded();
                break;
        }
    }

    private void Reap(DeviceQueue queue)
    {
        while (_engine.TryTakeCompletion(out var tagValue, out var result))
        {
            var tag = (int)tagValue;
            ref var slot = ref _slots[tag];
            var expected = slot.Type is VirtioBlkRequestType.In or VirtioBlkRequestType.Out ? slot.ExpectedBytes : 0;
            if (result != expected)
            {
                // A short transfer or an errno: the guest is told, and the reason logged once per request.
                slot.Failed = true;
                _device.ReportIoError(slot.Type, result, expected);
            }

            if (--slot.PendingOperations > 0)
            {
                continue;
            }

            if (slot.DirtySegmentCount > 0 && !slot.Failed)
            {
                for (var i = 0; i < slot.DirtySegmentCount; i++)
                {
                    queue.Memory.MarkDirty(slot.DirtySegments![i].GuestAddress, slot.DirtySegments[i].Length);
                }
            }

            Finish(queue, slot.Head, slot.StatusAddress, slot.WritableBytes, Outcome(ref slot));
            if (slot.Started != 0)
            {
                _device.Metrics?.Completed(_device.MetricsName, slot.Type, slot.Started);
            }

            Release(ref slot, tag);
        }
    }

    /// <summary>
    /// The status of a finished request. A write that failed also fails the next FLUSH (on any
    /// queue): a guest that only checks its flushes, as file systems do, learns that data it
    /// wrote is not on the image.
    /// </summary>
    private VirtioBlkStatus Outcome(ref InFlightRequest slot)
    {
        if (slot.Type == VirtioBlkRequestType.Flush)
        {
            return _device.TakeWriteFailure() || slot.Failed ? VirtioBlkStatus.IoError : VirtioBlkStatus.Ok;
        }

        if (slot.Failed && slot.Type is VirtioBlkRequestType.Out or VirtioBlkRequestType.WriteZeroes or VirtioBlkRequestType.Discard)
        {
            _device.NoteWriteFailure();
        }

        return slot.Failed ? VirtioBlkStatus.IoError : VirtioBlkStatus.Ok;
    }

    private void Release(ref InFlightRequest slot, int tag)
    {
        slot.Memory?.Dispose();
        slot.Memory = null;
        _free[_freeCount++] = tag;
    }

    private void Finish(DeviceQueue queue, ChainHead head, ulong statusAddress, uint writableBytes, VirtioBlkStatus status)
    {
        if (status != VirtioBlkStatus.Ok)
        {
            Counters.ErrorReported();
        }

        var value = (byte)status;
        _ = queue.Memory.Write(statusAddress, new ReadOnlySpan<byte>(&value, 1));
        queue.AddUsed(head, writableBytes);
    }

    /// <summary>Host iovecs for the request's data segments; -1 when they would need more than <see cref="MaxVectors"/>.</summary>
    private int BuildVectors(GuestMemory memory, int segmentCount)
    {
        var count = 0;
        Span<HostSegment> pieces = stackalloc HostSegment[8];
        for (var i = 0; i < segmentCount; i++)
        {
            var segment = _segments[i];
            if (segment.Host != null)
            {
                if (count == MaxVectors)
                {
                    return -1;
                }

                _vectors[count++] = new iovec { iov_base = segment.Host, iov_len = segment.Length };
                continue;
            }

            var n = memory.Scatter(segment.GuestAddress, segment.Length, pieces, out var fault);
            if (fault != MemoryFault.None || count + n > MaxVectors)
            {
                return -1;
            }

            for (var j = 0; j < n; j++)
            {
                _vectors[count++] = new iovec { iov_base = pieces[j].Pointer, iov_len = (size_t)(ulong)pieces[j].Length };
            }
        }

        return count;
    }

    private void WriteId(GuestMemory memory, int segmentCount)
    {
        ReadOnlySpan<byte> id = _device.Id;
        for (var i = 0; i < segmentCount && !id.IsEmpty; i++)
        {
            var take = (int)Math.Min((uint)id.Length, _segments[i].Length);
            _ = memory.Write(_segments[i].GuestAddress, id[..take]);
            id = id[take..];
        }
    }

    /// <summary>While the front end logs dirty pages, a read remembers where it writes, to mark it when the data has landed.</summary>
    private void RememberForDirtyLog(ref InFlightRequest slot, int segmentCount)
    {
        if (slot.DirtySegments is null || slot.DirtySegments.Length < segmentCount)
        {
            slot.DirtySegments = new VirtqBuffer[BlkDevice.SegMax];
        }

        _segments.AsSpan(0, segmentCount).CopyTo(slot.DirtySegments);
        slot.DirtySegmentCount = segmentCount;
    }

    public void Dispose()
    {
        Abandon();
        _engine.Dispose();
        NativeMemory.Free(_vectors);
    }

    /// <summary>A request whose engine operations are outstanding.</summary>
    private struct InFlightRequest
    {
        public ChainHead Head;
        public ulong StatusAddress;
        public uint WritableBytes;
        public VirtioBlkRequestType Type;
        public int ExpectedBytes;
        public int PendingOperations;
        public bool Failed;
        public GuestMemory? Memory;
        public VirtqBuffer[]? DirtySegments;
        public int DirtySegmentCount;

        /// <summary>When the request was taken (a <see cref="Stopwatch"/> timestamp), while its latency is measured; else 0.</summary>
        public long Started;
    }
}
