using System.Buffers.Binary;
using IoVirt.Abi.Blk;
using IoVirt.Memory;
using IoVirt.Virtqueue;

namespace IoVirt.Backends.Blk;

/// <summary>
/// Turns one popped chain into a <see cref="BlkRequest"/> (virtio 1.2 §5.2.6), checking
/// everything the guest chose: the header may be split across descriptors and the status byte
/// is the last writable byte wherever the driver framed it; data direction, segment count and
/// size, sector range, read-only, negotiated features and discard/write-zeroes ranges are all
/// checked before the image is touched. Allocation-free.
/// </summary>
public static class BlkRequestParser
{
    private const long Sector = VirtioBlk.SectorSize;

    /// <summary>
    /// Parses <paramref name="chain"/>. Data segments go to <paramref name="segments"/> (which
    /// needs room for <see cref="BlkLimits.SegMax"/> + 1), ranges to <paramref name="ranges"/>.
    /// </summary>
    public static void Parse(
        ref DescriptorChain chain, GuestMemory memory, in BlkLimits limits,
        Span<VirtqBuffer> segments, Span<BlkRange> ranges, out BlkRequest request)
    {
        request = default;
        Span<byte> header = stackalloc byte[VirtioBlkReqHeader.Size];
        var headerBytes = 0;
        var count = 0;
        var readableSegments = 0;
        var overflow = false;
        VirtqBuffer last = default;
        while (chain.TryGetNext(out var buffer))
        {
            if (buffer.Length == 0)
            {
                continue;
            }

            if (!buffer.IsWritable && headerBytes < header.Length)
            {
                var take = (int)Math.Min((uint)(header.Length - headerBytes), buffer.Length);
                if (memory.Read(buffer.GuestAddress, header.Slice(headerBytes, take)) != MemoryFault.None)
                {
                    request.Verdict = BlkVerdict.BrokenChain;
                    return;
                }

                headerBytes += take;
                if (take == buffer.Length)
                {
                    continue;
                }

                buffer = Slice(buffer, (uint)take);
            }

            if (buffer.IsWritable)
            {
                last = buffer;
            }
            else
            {
                readableSegments++;
            }

            if (count < segments.Length)
            {
                segments[count++] = buffer;
            }
            else
            {
                overflow = true;
            }
        }

        if (chain.Error != QueueError.None)
        {
            request.Verdict = BlkVerdict.BrokenChain;
            return;
        }

        if (last.Length == 0)
        {
            request.Verdict = BlkVerdict.NoStatus;
            return;
        }

        request.StatusAddress = last.GuestAddress + last.Length - 1;
        request.WritableBytes = chain.WritableBytes;
        if (overflow || headerBytes < header.Length)
        {
            Fail(ref request, VirtioBlkStatus.IoError);
            return;
        }

        // The status byte leaves the last writable segment; nothing writable follows it.
        segments[count - 1] = Slice(segments[count - 1], 0, segments[count - 1].Length - 1);
        if (segments[count - 1].Length == 0)
        {
            count--;
        }

        request.Type = (VirtioBlkRequestType)BinaryPrimitives.ReadUInt32LittleEndian(header);
        var sector = BinaryPrimitives.ReadUInt64LittleEndian(header[VirtioBlkReqHeader.SectorOffset..]);
        var readable = segments[..readableSegments];
        var writable = segments[readableSegments..count];
        switch (request.Type)
        {
            case VirtioBlkRequestType.In:
                CheckData(ref request, in limits, sector, data: writable, wrongWay: readable, segments);
                break;
            case VirtioBlkRequestType.Out:
                CheckData(ref request, in limits, sector, data: readable, wrongWay: writable, segments);
                if (request.Verdict == BlkVerdict.Execute && limits.ReadOnly)
                {
                    Fail(ref request, VirtioBlkStatus.IoError);
                }

                break;
            case VirtioBlkRequestType.Flush:
                if (!limits.Flush)
                {
                    Fail(ref request, VirtioBlkStatus.Unsupported);
                }
                else if (count != 0)
                {
                    Fail(ref request, VirtioBlkStatus.IoError);
                }

                break;
            case VirtioBlkRequestType.GetId:
                if (readable.Length != 0)
                {
                    Fail(ref request, VirtioBlkStatus.IoError);
                }
                else
                {
                    Keep(ref request, writable, segments);
                }

                break;
            case VirtioBlkRequestType.Discard:
            case VirtioBlkRequestType.WriteZeroes:
                CheckRanges(ref request, memory, in limits, readable, writable, ranges);
                break;
            default:
                Fail(ref request, VirtioBlkStatus.Unsupported);
                break;
        }
    }

    private static void CheckData(
        ref BlkRequest request, in BlkLimits limits, ulong sector,
        Span<VirtqBuffer> data, Span<VirtqBuffer> wrongWay, Span<VirtqBuffer> segments)
    {
        if (wrongWay.Length != 0 || data.Length > limits.SegMax)
        {
            Fail(ref request, VirtioBlkStatus.IoError);
            return;
        }

        ulong length = 0;
        foreach (var segment in data)
        {
            if (limits.SizeMax != 0 && segment.Length > limits.SizeMax)
            {
                Fail(ref request, VirtioBlkStatus.IoError);
                return;
            }

            length += segment.Length;
        }

        if (length % Sector != 0 || !Fits(in limits, sector, length / Sector))
        {
            Fail(ref request, VirtioBlkStatus.IoError);
            return;
        }

        request.Offset = (long)sector * Sector;
        Keep(ref request, data, segments);
    }

    private static void CheckRanges(
        ref BlkRequest request, GuestMemory memory, in BlkLimits limits,
        Span<VirtqBuffer> readable, Span<VirtqBuffer> writable, Span<BlkRange> ranges)
    {
        var discard = request.Type == VirtioBlkRequestType.Discard;
        if (!(discard ? limits.Discard : limits.WriteZeroes))
        {
            Fail(ref request, VirtioBlkStatus.Unsupported);
            return;
        }

        ulong length = 0;
        foreach (var segment in readable)
        {
            length += segment.Length;
        }

        var maxRanges = discard ? limits.MaxDiscardSeg : limits.MaxWriteZeroesSeg;
        var maxSectors = discard ? limits.MaxDiscardSectors : limits.MaxWriteZeroesSectors;
        var count = length / VirtioBlkDiscardWriteZeroes.Size;
        if (writable.Length != 0 || limits.ReadOnly || length == 0 || length % VirtioBlkDiscardWriteZeroes.Size != 0
            || count > maxRanges || count > (ulong)ranges.Length)
        {
            Fail(ref request, VirtioBlkStatus.IoError);
            return;
        }

        Span<byte> entry = stackalloc byte[VirtioBlkDiscardWriteZeroes.Size];
        for (var i = 0; i < (int)count; i++)
        {
            if (!Gather(memory, readable, (ulong)i * VirtioBlkDiscardWriteZeroes.Size, entry))
            {
                request.Verdict = BlkVerdict.BrokenChain;
                return;
            }

            var sector = BinaryPrimitives.ReadUInt64LittleEndian(entry);
            var sectors = BinaryPrimitives.ReadUInt32LittleEndian(entry[VirtioBlkDiscardWriteZeroes.NumSectorsOffset..]);
            var flags = (VirtioBlkDiscardWriteZeroesFlags)BinaryPrimitives.ReadUInt32LittleEndian(entry[VirtioBlkDiscardWriteZeroes.FlagsOffset..]);
            var unmap = (flags & VirtioBlkDiscardWriteZeroesFlags.Unmap) != 0;

            // Unknown flags, and UNMAP on a discard, are UNSUPP (virtio 1.2 §5.2.6.2).
            if ((flags & ~VirtioBlkDiscardWriteZeroesFlags.Unmap) != 0 || (discard && unmap))
            {
                Fail(ref request, VirtioBlkStatus.Unsupported);
                return;
            }

            if (sectors > maxSectors || !Fits(in limits, sector, sectors))
            {
                Fail(ref request, VirtioBlkStatus.IoError);
                return;
            }

            ranges[i] = new BlkRange((long)sector * Sector, sectors * Sector, unmap || discard);
        }

        request.RangeCount = (int)count;
        request.Verdict = BlkVerdict.Execute;
    }

    /// <summary>Whether <paramref name="sectors"/> sectors from <paramref name="sector"/> lie inside the device (no overflow possible).</summary>
    private static bool Fits(in BlkLimits limits, ulong sector, ulong sectors) =>
        sector <= limits.CapacitySectors && sectors <= limits.CapacitySectors - sector;

    /// <summary>Reads <paramref name="destination"/> from byte <paramref name="offset"/> of a segment list.</summary>
    private static bool Gather(GuestMemory memory, Span<VirtqBuffer> segments, ulong offset, Span<byte> destination)
    {
        foreach (var segment in segments)
        {
            if (destination.IsEmpty)
            {
                break;
            }

            if (offset >= segment.Length)
            {
                offset -= segment.Length;
                continue;
            }

            var take = (int)Math.Min((ulong)destination.Length, segment.Length - offset);
            if (memory.Read(segment.GuestAddress + offset, destination[..take]) != MemoryFault.None)
            {
                return false;
            }

            destination = destination[take..];
            offset = 0;
        }

        return destination.IsEmpty;
    }

    /// <summary>Moves the data segments to the front of the caller's span and accepts the request.</summary>
    private static void Keep(ref BlkRequest request, Span<VirtqBuffer> data, Span<VirtqBuffer> segments)
    {
        uint length = 0;
        for (var i = 0; i < data.Length; i++)
        {
            segments[i] = data[i];
            length += data[i].Length;
        }

        request.SegmentCount = data.Length;
        request.DataLength = length;
        request.Verdict = BlkVerdict.Execute;
    }

    private static void Fail(ref BlkRequest request, VirtioBlkStatus status)
    {
        request.Verdict = BlkVerdict.Complete;
        request.Status = status;
    }

    private static unsafe VirtqBuffer Slice(VirtqBuffer buffer, uint start) => Slice(buffer, start, buffer.Length - start);

    private static unsafe VirtqBuffer Slice(VirtqBuffer buffer, uint start, uint length) =>
        new(buffer.GuestAddress + start, length, buffer.IsWritable, buffer.Host == null ? null : buffer.Host + start);
}
