using System.Buffers.Binary;
using IoVirt.Abi.Net;
using IoVirt.Memory;
using IoVirt.Virtqueue;

namespace IoVirt.Backends.Net;

/// <summary>
/// The transmit queue of one queue pair: pops a burst of chains, copies each packet out of guest
/// memory (the chain is completed at once: the guest may reuse it), checks the header, finishes
/// a partial checksum the port cannot, and hands the packet to the port. Allocates nothing.
/// </summary>
internal sealed unsafe class NetTransmitter(INetPort port, int pair, NetCounters counters)
{
    // Pinned: the copy out of guest memory goes through a pointer on the contiguous path.
    private readonly byte[] _packet = GC.AllocateUninitializedArray<byte>(VirtioNetHdr.Size + NetTransmitCheck.MaxSegmentedFrame, pinned: true);

    /// <summary>The header and size rules negotiated.</summary>
    public NetTransmitCheck Check { get; set; } = new(NetOffloads.None, NetTransmitCheck.FrameFor(1500));

    /// <summary>The guest's header: 12 bytes, or 10 for a legacy driver without MRG_RXBUF.</summary>
    public int HeaderSize { get; set; } = VirtioNetHdr.Size;

    public void Process(DeviceQueue queue)
    {
        var sent = false;
        queue.Prefetch(NetDevice.Burst);
        for (var n = 0; n < NetDevice.Burst && queue.TryPop(out var chain); n++)
        {
            var length = Gather(queue.Memory, ref chain, out var wellFormed);
            if (chain.Error != QueueError.None)
            {
                return;
            }

            queue.AddUsed(chain.Head, 0);
            if (!wellFormed)
            {
                counters.TransmitInvalid();
                continue;
            }

            Send(_packet.AsSpan(0, length));
            sent = true;
        }

        if (sent)
        {
            port.TransmitBurstDone(pair);
        }
    }

    private void Send(Span<byte> packet)
    {
        if (Check.Check(packet) != NetTxVerdict.Valid)
        {
            counters.TransmitInvalid();
            return;
        }

        var flags = (VirtioNetHdrFlags)packet[VirtioNetHdr.FlagsOffset];
        if ((flags & VirtioNetHdrFlags.NeedsCsum) != 0 && (port.TransmitOffloads & NetOffloads.Csum) == 0)
        {
            var frame = packet[VirtioNetHdr.Size..];
            InternetChecksum.Complete(
                frame,
                BinaryPrimitives.ReadUInt16LittleEndian(packet[VirtioNetHdr.CsumStartOffset..]),
                BinaryPrimitives.ReadUInt16LittleEndian(packet[VirtioNetHdr.CsumOffsetOffset..]));
            packet[VirtioNetHdr.FlagsOffset] = (byte)VirtioNetHdrFlags.None;
        }

        if (port.Transmit(pair, packet))
        {
            counters.Transmitted(packet.Length - VirtioNetHdr.Size);
        }
        else
        {
            counters.TransmitDropped();
        }
    }

    /// <summary>
    /// Copies the chain's readable buffers into the packet buffer with the header widened to 12
    /// bytes; false in <paramref name="wellFormed"/> for a chain longer than any packet or with
    /// device-writable buffers (a transmit chain has none).
    /// </summary>
    private int Gather(GuestMemory memory, ref DescriptorChain chain, out bool wellFormed)
    {
        // A legacy 10-byte header lands 2 bytes in, so the frame always starts at byte 12.
        var start = VirtioNetHdr.Size - HeaderSize;
        var length = start;
        wellFormed = true;
        while (chain.TryGetNext(out var buffer))
        {
            if (buffer.IsWritable || buffer.Length > (uint)(_packet.Length - length))
            {
                wellFormed = false;
                continue;
            }

            var destination = _packet.AsSpan(length, (int)buffer.Length);
            if (buffer.IsContiguous)
            {
                new ReadOnlySpan<byte>(buffer.Host, (int)buffer.Length).CopyTo(destination);
            }
            else if (memory.Read(buffer.GuestAddress, destination) != MemoryFault.None)
            {
                wellFormed = false;
            }

            length += (int)buffer.Length;
        }

        if (start != 0 && length >= VirtioNetHdr.Size)
        {
            _packet.AsSpan(start, HeaderSize).CopyTo(_packet);
            _packet[VirtioNetHdr.NumBuffersOffset] = 0;
            _packet[VirtioNetHdr.NumBuffersOffset + 1] = 0;
        }

        return start != 0 && length < VirtioNetHdr.Size ? 0 : length;
    }
}
