using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Fuzz;

/// <summary>The <c>split-chain</c> target: a split queue over a guest memory image.</summary>
public static class SplitChainTarget
{
    public const string Name = "split-chain";

    public static void Run(ReadOnlySpan<byte> input) => ChainFuzzer.Execute(input, packed: false);
}

/// <summary>The <c>packed-chain</c> target: a packed queue over a guest memory image.</summary>
public static class PackedChainTarget
{
    public const string Name = "packed-chain";

    public static void Run(ReadOnlySpan<byte> input) => ChainFuzzer.Execute(input, packed: true);
}

/// <summary>What one run did: why the queue was rejected, or how many chains and buffers it walked and the fault it ended in.</summary>
public readonly record struct FuzzOutcome(QueueError CreateError, int Chains, int Buffers, QueueError Fault, int Checksum);

/// <summary>A property of the queue that the fuzz targets check was broken: a bug, reported like a crash.</summary>
public sealed class FuzzInvariantException : Exception
{
    public FuzzInvariantException()
    {
    }

    public FuzzInvariantException(string message)
        : base(message)
    {
    }

    public FuzzInvariantException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Both chain targets: decode a <see cref="FuzzHeader"/>, build guest memory from the image that
/// follows it, create the device queue (a rejection ends the run), then pop and walk chains until
/// none is left or a bound is reached, completing them in batches. Guest-controlled state must
/// never make the queue throw; every buffer it hands out is checked against the memory map, and
/// positions and byte counts against what was popped and completed. A violation throws
/// <see cref="FuzzInvariantException"/>; any exception escapes to the fuzzer.
/// </summary>
public static class ChainFuzzer
{
    public static FuzzOutcome Execute(ReadOnlySpan<byte> input, bool packed)
    {
        var header = FuzzHeader.Parse(input);
        var image = input.Length > FuzzHeader.Size ? input[FuzzHeader.Size..] : [];
        using var space = FuzzMemory.Build(header, image);
        var size = header.QueueSize(packed);
        var config = header.Config(packed, size);
        var position = header.Position(packed, size);
        DeviceQueue? device;
        QueueError error;
        if (packed)
        {
            error = PackedQueue.TryCreate(space.Memory, config, position, out var queue);
            device = queue;
        }
        else
        {
            error = SplitQueue.TryCreate(space.Memory, config, position, out var queue);
            device = queue;
        }

        if (error != QueueError.None)
        {
            return device is null
                ? new FuzzOutcome(error, 0, 0, QueueError.None, 0)
                : throw new FuzzInvariantException($"TryCreate returned {error} and a queue.");
        }

        if (device is null)
        {
            throw new FuzzInvariantException("TryCreate succeeded without a queue.");
        }

        var validSize = size is >= 1 and <= 32768 && (packed || (size & (size - 1)) == 0);
        if (!validSize)
        {
            throw new FuzzInvariantException($"A queue of size {size} was accepted.");
        }

        return new ChainRun(device, space, header, packed, position).Drain();
    }

    /// <summary>The state of one run; a class so the walk can keep counters across batches.</summary>
    private sealed unsafe class ChainRun(DeviceQueue device, FuzzMemory space, FuzzHeader header, bool packed, QueuePosition start)
    {
        /// <summary>Buffers walked per run at most, so a hostile image cannot make a run slow.</summary>
        private const int MaxBuffers = 1 << 16;

        private readonly int _maxChains = Math.Min((4 * device.Size) + 64, 4096);
        private bool _undoPending = header.Has(FuzzFlags.UndoFirstPop);
        private bool _rebindPending = header.Has(FuzzOptions.Rebind);
        private bool _stop;
        private int _popped;
        private int _completed;
        private int _buffers;
        private int _checksum;
        private ushort _expectedAvail = start.NextAvail;
        private bool _expectedAvailWrap = start.AvailWrap;
        private ushort _expectedUsed = start.NextUsed;
        private bool _expectedUsedWrap = start.UsedWrap;

        public FuzzOutcome Drain()
        {
            if (header.Has(FuzzFlags.DisableNotifications))
            {
                device.DisableNotifications();
            }

            for (var round = 0; round < 4 && !_stop; round++)
            {
                ProcessAvailable();
                if (device.IsBroken && device.TryPop(out _))
                {
                    throw new FuzzInvariantException($"A queue broken by {device.Fault} popped a chain.");
                }

                if (!device.EnableNotifications())
                {
                    break;
                }
            }

            CheckPosition();
            return new FuzzOutcome(QueueError.None, _popped, _buffers, device.Fault, _checksum);
        }

        private void ProcessAvailable()
        {
            Span<ChainHead> heads = stackalloc ChainHead[FuzzHeader.MaxBatch];
            Span<uint> written = stackalloc uint[FuzzHeader.MaxBatch];
            var batch = header.BatchSize;
            while (!_stop)
            {
                var count = 0;
                while (count < batch && _popped < _maxChains && !_stop && device.TryPop(out var chain))
                {
                    if (_undoPending)
                    {
                        _undoPending = false;
                        var first = chain.Head;
                        device.UndoLastPop();
                        if (!device.TryPop(out chain) || chain.Head.Id != first.Id || chain.Head.RingDescriptors != first.RingDescriptors)
                        {
                            throw new FuzzInvariantException("The chain put back by UndoLastPop did not come back.");
                        }
                    }

                    _popped++;
                    if (packed)
                    {
                        Advance(ref _expectedAvail, ref _expectedAvailWrap, chain.Head.RingDescriptors);
                    }

                    Walk(ref chain);
                    heads[count] = chain.Head;
                    written[count] = chain.WritableBytes;
                    count++;
                }

                if (count == 0)
                {
                    return;
                }

                var reverse = header.Has(FuzzOptions.ReverseCompletion);
                for (var i = 0; i < count; i++)
                {
                    var j = reverse ? count - 1 - i : i;
                    device.AddUsed(heads[j], written[j]);
                    _completed++;
                    if (packed)
                    {
                        Advance(ref _expectedUsed, ref _expectedUsedWrap, heads[j].RingDescriptors);
                    }
                }

                device.PublishUsed();
                _ = device.NeedsInterrupt();
                if (_rebindPending)
                {
                    _rebindPending = false;
                    var error = device.Rebind(space.AddRegion());
                    if (error != QueueError.None)
                    {
                        throw new FuzzInvariantException($"Rebinding to a map with one more region failed: {error}.");
                    }
                }
            }
        }

        private void Walk(ref DescriptorChain chain)
        {
            var memory = device.Memory;
            ulong readable = 0;
            ulong writable = 0;
            var sawWritable = false;
            while (chain.TryGetNext(out var buffer))
            {
                if (++_buffers > MaxBuffers)
                {
                    _stop = true;
                    return;
                }

                CheckBuffer(memory, buffer);
                if (buffer.IsWritable)
                {
                    sawWritable = true;
                    writable += buffer.Length;
                }
                else if (sawWritable)
                {
                    throw new FuzzInvariantException("A device-readable buffer followed a device-writable one.");
                }
                else
                {
                    readable += buffer.Length;
                }

                Touch(memory, buffer);
            }

            if (readable + writable > uint.MaxValue)
            {
                throw new FuzzInvariantException($"A chain of {readable + writable} bytes was handed out.");
            }

            if (chain.Error == QueueError.None)
            {
                if (readable != chain.ReadableBytes || writable != chain.WritableBytes)
                {
                    throw new FuzzInvariantException($"Chain counted {chain.ReadableBytes}/{chain.WritableBytes} bytes, buffers add up to {readable}/{writable}.");
                }

                if (device.IsBroken)
                {
                    throw new FuzzInvariantException($"A chain walked without error broke the queue ({device.Fault}).");
                }
            }
            else if (device.Fault != chain.Error)
            {
                throw new FuzzInvariantException($"The walk failed with {chain.Error} but the queue holds {device.Fault}.");
            }
        }

        /// <summary>A buffer with a host pointer lies in one region at the matching offset; one without spans regions, all guest memory.</summary>
        private static void CheckBuffer(GuestMemory memory, VirtqBuffer buffer)
        {
            if (buffer.Host != null)
            {
                foreach (var region in memory.Regions)
                {
                    if (buffer.GuestAddress >= region.GuestAddress && buffer.GuestAddress < region.GuestEnd)
                    {
                        if (buffer.Length == 0
                            || buffer.Length > region.GuestEnd - buffer.GuestAddress
                            || buffer.Host != region.Host + (buffer.GuestAddress - region.GuestAddress))
                        {
                            throw new FuzzInvariantException($"Buffer 0x{buffer.GuestAddress:x}+{buffer.Length} has a host pointer outside its region.");
                        }

                        return;
                    }
                }

                throw new FuzzInvariantException($"Buffer 0x{buffer.GuestAddress:x}+{buffer.Length} has a host pointer but lies in no region.");
            }

            if (buffer.Length != 0)
            {
                CheckScattered(memory, buffer);
            }
        }

        private static void CheckScattered(GuestMemory memory, VirtqBuffer buffer)
        {
            if (memory.CheckRange(buffer.GuestAddress, buffer.Length) != MemoryFault.None
                || memory.TryGetPointer(buffer.GuestAddress, buffer.Length, out _) != MemoryFault.NotContiguous)
            {
                throw new FuzzInvariantException($"Buffer 0x{buffer.GuestAddress:x}+{buffer.Length} has no host pointer but is not a valid multi-region range.");
            }

            Span<HostSegment> segments = stackalloc HostSegment[4];
            var count = memory.Scatter(buffer.GuestAddress, buffer.Length, segments, out var fault);
            long total = 0;
            foreach (var segment in segments[..count])
            {
                total += segment.Length;
            }

            if (fault != MemoryFault.None || count < 2 || total != buffer.Length)
            {
                throw new FuzzInvariantException($"Buffer 0x{buffer.GuestAddress:x}+{buffer.Length} scattered into {count} segments of {total} bytes ({fault}).");
            }
        }

        /// <summary>Uses the buffer as a device would: reads its ends, or writes its start when the header asks for writes.</summary>
        private void Touch(GuestMemory memory, VirtqBuffer buffer)
        {
            if (buffer.Host == null)
            {
                return;
            }

            if (buffer.IsWritable && header.Has(FuzzFlags.WriteBuffers))
            {
                var count = (int)Math.Min(buffer.Length, 8u);
                new Span<byte>(buffer.Host, count).Fill(header.Fill);
                memory.MarkDirty(buffer.GuestAddress, (ulong)count);
            }
            else
            {
                _checksum += buffer.Host[0] + buffer.Host[buffer.Length - 1];
            }
        }

        private void CheckPosition()
        {
            if (device.IsBroken)
            {
                return;
            }

            var position = device.Position;
            if (packed)
            {
                if (position != new QueuePosition(_expectedAvail, _expectedAvailWrap, _expectedUsed, _expectedUsedWrap))
                {
                    throw new FuzzInvariantException($"Packed queue at {position}, expected {_expectedAvail}/{_expectedAvailWrap} {_expectedUsed}/{_expectedUsedWrap}.");
                }

                return;
            }

            var expectedAvail = unchecked((ushort)(start.NextAvail + _popped));
            var expectedUsed = unchecked((ushort)(start.NextUsed + _completed));
            if (position.NextAvail != expectedAvail || position.NextUsed != expectedUsed || ((SplitQueue)device).PublishedUsedIndex != expectedUsed)
            {
                throw new FuzzInvariantException($"Split queue at {position}, expected {expectedAvail} {expectedUsed}.");
            }
        }

        private void Advance(ref ushort index, ref bool wrap, ushort slots)
        {
            var next = index + slots;
            if (next >= device.Size)
            {
                next -= device.Size;
                wrap = !wrap;
            }

            index = (ushort)next;
        }
    }
}
