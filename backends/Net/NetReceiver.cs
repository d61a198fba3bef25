using System.Buffers.Binary;
using IoVirt.Abi.Net;
using IoVirt.Memory;
using IoVirt.Virtqueue;

namespace IoVirt.Backends.Net;

/// <summary>
/// The receive queue of one queue pair: takes packets from the port, drops those the guest's
/// filter refuses, and writes each into guest buffers. With MRG_RXBUF a packet spreads over as
/// many chains as it needs (num_buffers says how many); without, one chain must hold it. When
/// the buffers run out mid-packet the chains taken so far are held and the packet finishes when
/// the guest adds more. Small writes into guest buffers go out together at the end of a burst
/// (<see cref="GuestWriteBatch"/>), before the worker publishes the used elements. Allocates nothing.
/// </summary>
internal sealed unsafe class NetReceiver
{
    private readonly INetPort _port;
    private readonly int _pair;
    private readonly NetCounters _counters;
    private readonly byte[] _packet = GC.AllocateUninitializedArray<byte>(VirtioNetHdr.Size + NetTransmitCheck.MaxSegmentedFrame, pinned: true);
    private readonly GuestWriteBatch _writes = new(NetDevice.Burst);
    private readonly ChainHead[] _held;
    private readonly uint[] _heldLength;
    private int _heldCount;
    private int _length;
    private int _delivered;
    private ulong _numBuffersLow;
    private ulong _numBuffersHigh;

    public NetReceiver(INetPort port, int pair, NetCounters counters, NetReceiveFilter filter, int maxQueueSize)
    {
        _port = port;
        _pair = pair;
        _counters = counters;
        Filter = filter;
        _held = new ChainHead[maxQueueSize];
        _heldLength = new uint[maxQueueSize];
    }

    public NetReceiveFilter Filter { get; }

    /// <summary>MRG_RXBUF was negotiated.</summary>
    public bool Mergeable { get; set; }

    /// <summary>The guest's header: 12 bytes, or 10 for a legacy driver without MRG_RXBUF.</summary>
    public int HeaderSize { get; set; } = VirtioNetHdr.Size;

    /// <summary>The last <see cref="Process"/> stopped with a packet for which the guest had too few buffers (a kick will bring more).</summary>
    public bool WaitsForBuffers { get; private set; }

    public void Process(DeviceQueue queue)
    {
        var delivered = true;
        if (_length != 0 || Fetch())
        {
            queue.Prefetch(NetDevice.Burst);
        }

        for (var n = 0; n < NetDevice.Burst && (_length != 0 || Fetch()) && (delivered = Deliver(queue)); n++)
        {
        }

        _writes.Flush(queue.Memory);

        WaitsForBuffers = !delivered;
    }

    /// <summary>The ring stops: chains held for an unfinished packet go back empty and the packet is dropped.</summary>
    public void Quiesce(DeviceQueue queue)
    {
        if (_heldCount != 0)
        {
            Abandon(queue);
        }
    }

    /// <summary>Forgets everything (device reset): the rings are gone, so held chains are not completed.</summary>
    public void Reset()
    {
        WaitsForBuffers = false;
        _heldCount = 0;
        _length = 0;
        _delivered = 0;
    }

    /// <summary>Takes the next packet the guest wants from the port; false when the port has none.</summary>
    private bool Fetch()
    {
        while (true)
        {
            var length = _port.Receive(_pair, _packet);
            if (length == 0)
            {
                return false;
            }

            if (length < VirtioNetHdr.Size + NetTransmitCheck.EthernetHeader || !Filter.Accepts(_packet.AsSpan(VirtioNetHdr.Size, length - VirtioNetHdr.Size)))
            {
                _counters.ReceiveFiltered();
                continue;
            }

            // One buffer unless the packet spreads over more (then patched in guest memory).
            BinaryPrimitives.WriteUInt16LittleEndian(_packet.AsSpan(VirtioNetHdr.NumBuffersOffset), 1);
            if (HeaderSize != VirtioNetHdr.Size)
            {
                // Legacy header: the 10 bytes move next to the frame.
                _packet.AsSpan(0, HeaderSize).CopyTo(_packet.AsSpan(VirtioNetHdr.Size - HeaderSize));
            }

            _length = length;
            _delivered = VirtioNetHdr.Size - HeaderSize;
            return true;
        }
    }

    /// <summary>Writes the pending packet into guest buffers; false when the guest has too few buffers for now (or the ring broke).</summary>
    private bool Deliver(DeviceQueue queue)
    {
        while (_delivered < _length)
        {
            if (!queue.TryPop(out var chain))
            {
                return false;
            }

            var first = _heldCount == 0;
            var written = Scatter(queue.Memory, ref chain, _packet.AsSpan(_delivered, _length - _delivered), first);
            if (chain.Error != QueueError.None)
            {
                return false;
            }

            if ((first && written < HeaderSize) || (!Mergeable && _delivered + written < _length))
            {
                // The buffer cannot hold the header (or, without merging, the packet): it goes back
                // empty, which the driver counts as a length error, and the packet is lost.
                queue.AddUsed(chain.Head, 0);
                Drop();
                return true;
            }

            _held[_heldCount] = chain.Head;
            _heldLength[_heldCount++] = (uint)written;
            _delivered += written;
            if (_delivered < _length && _heldCount == queue.Size)
            {
                // Every buffer of the ring is held and the packet still does not fit.
                Abandon(queue);
                return true;
            }
        }

        if (_heldCount > 1 && !PatchNumBuffers(queue.Memory))
        {
            Abandon(queue);
            return true;
        }

        for (var i = 0; i < _heldCount; i++)
        {
            queue.AddUsed(_held[i], _heldLength[i]);
        }

        _counters.Received(_length - VirtioNetHdr.Size);
        _heldCount = 0;
        _length = 0;
        return true;
    }

    private bool PatchNumBuffers(GuestMemory memory)
    {
        // The header may still be held back in the batch, which would then write over the patch.
        _writes.Flush(memory);
        var count = (ushort)_heldCount;
        return memory.Write(_numBuffersLow, [(byte)(count & 0xff)]) == MemoryFault.None
            && memory.Write(_numBuffersHigh, [(byte)(count >> 8)]) == MemoryFault.None;
    }

    private void Abandon(DeviceQueue queue)
    {
        for (var i = 0; i < _heldCount; i++)
        {
            queue.AddUsed(_held[i], 0);
        }

        Drop();
    }

    private void Drop()
    {
        _counters.ReceiveDropped();
        _heldCount = 0;
        _length = 0;
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the chain's writable buffers as far as they go; in
    /// the packet's first chain, notes where num_buffers landed (it may straddle two buffers).
    /// </summary>
    private int Scatter(GuestMemory memory, ref DescriptorChain chain, ReadOnlySpan<byte> source, bool first)
    {
        var written = 0;
        var numBuffersAt = VirtioNetHdr.NumBuffersOffset - (VirtioNetHdr.Size - HeaderSize);
        while (written < source.Length && chain.TryGetNext(out var buffer))
        {
            if (!buffer.IsWritable)
            {
                continue; // a receive chain has only device-writable buffers; skip a stray one
            }

            var take = (int)Math.Min(buffer.Length, (uint)(source.Length - written));
            var part = source.Slice(written, take);
            if (buffer.IsContiguous)
            {
                _writes.Write(part, buffer.Host, buffer.GuestAddress, memory);
            }
            else if (memory.Write(buffer.GuestAddress, part) != MemoryFault.None)
            {
                return written;
            }

            if (first && Mergeable)
            {
                if (numBuffersAt >= written && numBuffersAt < written + take)
                {
                    _numBuffersLow = buffer.GuestAddress + (ulong)(numBuffersAt - written);
                }

                if (numBuffersAt + 1 >= written && numBuffersAt + 1 < written + take)
                {
                    _numBuffersHigh = buffer.GuestAddress + (ulong)(numBuffersAt + 1 - written);
                }
            }

            written += take;
        }

        return written;
    }
}
