using IoVirt.Abi.Blk;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Blk;
using IoVirt.Memory;
using IoVirt.Virtqueue;

namespace IoVirt.Fuzz;

/// <summary>The <c>blk-request-split</c> target: block requests over arbitrary split-ring chains.</summary>
public static class BlkSplitRequestTarget
{
    public const string Name = "blk-request-split";

    public static void Run(ReadOnlySpan<byte> input) => BlkRequestFuzzer.Execute(input, packed: false);
}

/// <summary>The <c>blk-request-packed</c> target: block requests over arbitrary packed-ring chains.</summary>
public static class BlkPackedRequestTarget
{
    public const string Name = "blk-request-packed";

    public static void Run(ReadOnlySpan<byte> input) => BlkRequestFuzzer.Execute(input, packed: true);
}

/// <summary>
/// Block request handling over guest memory built from the input (the chain targets' header and
/// image). Each chain is first parsed alone, checking that an accepted request lies inside the
/// disk and inside guest memory; then the same ring is served by a real block device on a small
/// RAM disk (synchronous engine, so a run is deterministic), which must never throw.
/// </summary>
public static class BlkRequestFuzzer
{
    private const ulong DiskBytes = 64 << 10;

    private static readonly BlockStore Store = BlockStore.CreateRam(DiskBytes);
    private static readonly BlkDevice Device = CreateDevice();

    /// <summary>Returns how many chains the parser accepted.</summary>
    public static int Execute(ReadOnlySpan<byte> input, bool packed)
    {
        var header = FuzzHeader.Parse(input);
        var image = input.Length > FuzzHeader.Size ? input[FuzzHeader.Size..] : [];
        using var space = FuzzMemory.Build(header, image);
        var accepted = ParseEveryChain(space.Memory, header, packed);
        var queue = header.CreateQueue(space.Memory, packed);
        if (queue is not null)
        {
            Device.ProcessQueue(0, queue);
            Device.QuiesceQueue(0, queue);
            queue.PublishUsed();
        }

        return accepted;
    }

    private static int ParseEveryChain(GuestMemory memory, FuzzHeader header, bool packed)
    {
        var queue = header.CreateQueue(memory, packed);
        if (queue is null)
        {
            return 0;
        }

        var segments = new VirtqBuffer[BlkDevice.SegMax + 1];
        var ranges = new BlkRange[BlkDevice.MaxRanges];
        var accepted = 0;
        for (var chains = 0; chains < 256 && queue.TryPop(out var chain); chains++)
        {
            BlkRequestParser.Parse(ref chain, memory, Device.Limits, segments, ranges, out var request);
            if (request.Verdict == BlkVerdict.Execute)
            {
                accepted++;
                Check(memory, request, segments, ranges);
            }

            if (queue.IsBroken)
            {
                break;
            }

            queue.AddUsed(chain.Head, 0);
        }

        return accepted;
    }

    private static void Check(GuestMemory memory, in BlkRequest request, VirtqBuffer[] segments, BlkRange[] ranges)
    {
        if (request.Type is VirtioBlkRequestType.In or VirtioBlkRequestType.Out
            && (request.Offset < 0 || (ulong)request.Offset + request.DataLength > DiskBytes))
        {
            throw new FuzzInvariantException($"{request.Type} of {request.DataLength} bytes at {request.Offset} accepted on a {DiskBytes}-byte disk");
        }

        for (var i = 0; i < request.RangeCount; i++)
        {
            if (ranges[i].Offset < 0 || ranges[i].Length < 0 || (ulong)(ranges[i].Offset + ranges[i].Length) > DiskBytes)
            {
                throw new FuzzInvariantException($"range {ranges[i]} accepted on a {DiskBytes}-byte disk");
            }
        }

        for (var i = 0; i < request.SegmentCount; i++)
        {
            if (memory.CheckRange(segments[i].GuestAddress, segments[i].Length) != MemoryFault.None)
            {
                throw new FuzzInvariantException($"segment at 0x{segments[i].GuestAddress:x} (+{segments[i].Length}) is outside guest memory");
            }
        }

        if (memory.CheckRange(request.StatusAddress, 1) != MemoryFault.None)
        {
            throw new FuzzInvariantException($"status byte at 0x{request.StatusAddress:x} is outside guest memory");
        }
    }

    private static BlkDevice CreateDevice()
    {
        var device = new BlkDevice(Store, new BlkDeviceOptions { Engine = BlockEngineKind.Sync });
        device.FeaturesNegotiated(device.Features & ~VirtioFeature.Bit(VirtioFeature.RingPacked));
        return device;
    }
}
