using System.Diagnostics;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;

namespace IoVirt.Backends.Blk.Load;

/// <summary>
/// The load one thread keeps on one queue: <see cref="BlkLoadOptions.IoDepth"/> requests
/// outstanding on the blocks of its own part of the device (so the verifiers of different
/// queues never share a block), each slot resubmitted as it completes, published once per batch
/// of completions, and each request's latency recorded from being added to the ring to being
/// seen used.
/// </summary>
internal sealed class QueueLoad
{
    /// <summary>A back end that completes nothing for this long has stalled.</summary>
    private const int StallMs = 10_000;

    private readonly BlkClientQueue _queue;
    private readonly BlkLoadOptions _options;
    private readonly ulong _firstBlock;
    private readonly ulong _blocks;
    private readonly ulong _sectorsPerBlock;
    private readonly bool _writes;
    private readonly bool _random;
    private readonly ulong[] _slotBlock;
    private readonly ulong[] _slotGeneration;
    private readonly long[] _issued;
    private ulong _state;
    private ulong _sequential;

    /// <summary>Drives <paramref name="queue"/> over <paramref name="blocks"/> blocks from <paramref name="firstBlock"/>.</summary>
    public QueueLoad(BlkClientQueue queue, BlkLoadOptions options, ulong firstBlock, ulong blocks, BlockVerifier? verifier)
    {
        _queue = queue;
        _options = options;
        _firstBlock = firstBlock;
        _blocks = blocks;
        _sectorsPerBlock = (ulong)options.BlockSize / VirtioBlk.SectorSize;
        _writes = options.Pattern is BlkPattern.RandWrite or BlkPattern.Write or BlkPattern.RandRW;
        _random = options.Pattern is BlkPattern.RandRead or BlkPattern.RandWrite or BlkPattern.RandRW;
        Verifier = verifier;
        _slotBlock = new ulong[options.IoDepth];
        _slotGeneration = new ulong[options.IoDepth];
        _issued = new long[options.IoDepth];

        // Queue 0 draws what a one-queue run with the same seed draws; the others their own sequences.
        _state = unchecked(((ulong)options.Seed * 0x9e3779b97f4a7c15UL) ^ ((ulong)queue.Index * 0xbf58476d1ce4e5b9UL)) | 1;
        if (_writes && verifier is null)
        {
            for (var slot = 0; slot < options.IoDepth; slot++)
            {
                queue.Data(slot)[..options.BlockSize].Fill((byte)(0xa5 ^ slot));
            }
        }
    }

    public BlockVerifier? Verifier { get; }

    public LatencyHistogram Latency { get; } = new();

    /// <summary>Requests that completed in the measured window.</summary>
    public long Ios { get; private set; }

    /// <summary>Of those, requests that completed with an error status.</summary>
    public long Errors { get; private set; }

    /// <summary>When the last completion was seen (Stopwatch ticks).</summary>
    public long LastCompletion { get; private set; }

    /// <summary>
    /// Keeps the load from <paramref name="start"/> until <paramref name="end"/> (or
    /// <paramref name="cancel"/>), then lets every outstanding request complete; only what
    /// was issued from <paramref name="measureFrom"/> and completed by the end is counted.
    /// </summary>
    public void Run(long start, long measureFrom, long end, ProgressMeter? progress, CancellationToken cancel)
    {
        for (var slot = 0; slot < _options.IoDepth; slot++)
        {
            Issue(slot);
        }

        _queue.Publish();
        var outstanding = _options.IoDepth;
        var now = start;
        while (outstanding > 0)
        {
            int slot;
            VirtioBlkStatus status;
            if (_options.Poll)
            {
                var spinStart = Stopwatch.GetTimestamp();
                while (!_queue.TryComplete(out slot, out status))
                {
                    if (Stopwatch.GetTimestamp() - spinStart > StallMs * (Stopwatch.Frequency / 1000))
                    {
                        throw new TimeoutException($"the back end completed nothing in {StallMs} ms");
                    }
                }
            }
            else if (!_queue.WaitComplete(out slot, out status, StallMs))
            {
                throw new TimeoutException($"the back end completed nothing in {StallMs} ms");
            }

            now = Stopwatch.GetTimestamp();
            progress?.Tick(now);
            var stopping = now >= end || cancel.IsCancellationRequested;
            do
            {
                if (Verifier is not null)
                {
                    EndVerified(slot, status == VirtioBlkStatus.Ok);
                }

                progress?.Completed(now - _issued[slot]);
                if (_issued[slot] >= measureFrom && now <= end)
                {
                    Latency.Record((long)((now - _issued[slot]) * (1e9 / Stopwatch.Frequency)));
                    Ios++;
                    if (status != VirtioBlkStatus.Ok)
                    {
                        Errors++;
                    }
                }

                if (stopping)
                {
                    outstanding--;
                }
                else
                {
                    Issue(slot);
                }
            }
            while (_queue.TryComplete(out slot, out status));

            if (!stopping)
            {
                _queue.Publish();
            }
        }

        LastCompletion = now;
    }

    private void Issue(int slot)
    {
        ulong offset;
        var draw = 0UL;
        if (_random)
        {
            // xorshift64*: cheap, and the same sequence for the same seed.
            _state ^= _state >> 12;
            _state ^= _state << 25;
            _state ^= _state >> 27;
            draw = unchecked(_state * 0x2545f4914f6cdd1dUL);
            offset = (draw >> 1) % _blocks;
        }
        else
        {
            offset = _sequential;
            _sequential = (_sequential + 1) % _blocks;
        }

        var write = _options.Pattern == BlkPattern.RandRW ? (draw & 1) != 0 : _writes;
        if (Verifier is not null)
        {
            // The next free block: a read never races a write to the same block.
            while (Verifier.IsBusy(_firstBlock + offset))
            {
                offset = (offset + 1) % _blocks;
            }

            var block = _firstBlock + offset;
            _slotBlock[slot] = block;
            if (write)
            {
                _slotGeneration[slot] = Verifier.BeginWrite(block, _queue.Data(slot)[.._options.BlockSize]);
            }
            else
            {
                _slotGeneration[slot] = 0;
                Verifier.BeginRead(block);
            }
        }

        _issued[slot] = Stopwatch.GetTimestamp();
        _queue.Add(slot, write ? VirtioBlkRequestType.Out : VirtioBlkRequestType.In, (_firstBlock + offset) * _sectorsPerBlock, _options.BlockSize);
    }

    private void EndVerified(int slot, bool succeeded)
    {
        var block = _slotBlock[slot];
        if (_slotGeneration[slot] != 0)
        {
            Verifier!.EndWrite(block, _slotGeneration[slot], succeeded);
        }
        else if (succeeded)
        {
            Verifier!.EndRead(block, _queue.Data(slot)[.._options.BlockSize]);
        }
        else
        {
            Verifier!.EndFailedRead(block);
        }
    }
}
