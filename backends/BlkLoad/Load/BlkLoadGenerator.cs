using System.Diagnostics;
using System.Numerics;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;

namespace IoVirt.Backends.Blk.Load;

/// <summary>
/// A VM-free load generator for any vhost-user-blk back end (fio's model without a guest):
/// keeps <see cref="BlkLoadOptions.IoDepth"/> requests outstanding from one thread, resubmits
/// each slot as it completes, publishes once per batch of completions, and records each
/// request's latency from being added to the ring to being seen used.
/// </summary>
public static class BlkLoadGenerator
{
    /// <summary>A back end that completes nothing for this long has stalled.</summary>
    private const int StallMs = 10_000;

    /// <summary>A verifier for the device's blocks, its tag taken from the device's serial (GET_ID).</summary>
    private static BlockVerifier StartVerifier(BlkClient client, ulong blocks, int sectorsPerBlock, int depth)
    {
        if (blocks <= (ulong)depth)
        {
            throw new InvalidOperationException($"verifying needs more blocks ({blocks}) than requests outstanding ({depth})");
        }

        var status = client.Execute(VirtioBlkRequestType.GetId, 0, VirtioBlk.IdLength);
        var serial = status == VirtioBlkStatus.Ok ? client.Data(0)[..VirtioBlk.IdLength] : [];
        return new BlockVerifier(blocks, sectorsPerBlock, BlockStamp.Tag(serial.TrimEnd((byte)0)));
    }

    public static BlkLoadResult Run(BlkLoadOptions options, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BlockSize < 512 || options.BlockSize % 512 != 0 || options.IoDepth < 1 || options.IoDepth > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "The block size is a multiple of 512 and the depth 1 to 1024.");
        }

        var queueSize = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(64, options.IoDepth));
        using var client = BlkClient.Connect(options.SocketPath, new BlkClientOptions
        {
            QueueSize = queueSize,
            Slots = options.IoDepth,
            MaxBlockSize = options.BlockSize,
            Packed = options.Packed,
        });
        var deviceBytes = client.CapacitySectors * VirtioBlk.SectorSize;
        if (options.Span > deviceBytes)
        {
            throw new InvalidOperationException($"the device has {deviceBytes} bytes, fewer than the {options.Span} asked to be addressed");
        }

        var span = options.Span == 0 ? deviceBytes : options.Span;
        var blocks = span / (ulong)options.BlockSize;
        if (blocks == 0)
        {
            throw new InvalidOperationException($"the device ({deviceBytes} bytes) is smaller than one {options.BlockSize}-byte block");
        }

        var writes = options.Pattern is BlkPattern.RandWrite or BlkPattern.Write or BlkPattern.RandRW;
        var random = options.Pattern is BlkPattern.RandRead or BlkPattern.RandWrite or BlkPattern.RandRW;
        if (writes && !options.Verify)
        {
            for (var slot = 0; slot < options.IoDepth; slot++)
            {
                client.Data(slot)[..options.BlockSize].Fill((byte)(0xa5 ^ slot));
            }
        }

        var sectorsPerBlock = (ulong)options.BlockSize / VirtioBlk.SectorSize;
        var verifier = options.Verify ? StartVerifier(client, blocks, (int)sectorsPerBlock, options.IoDepth) : null;
        var slotBlock = new ulong[options.IoDepth];
        var slotGeneration = new ulong[options.IoDepth];
        var state = (ulong)options.Seed * 0x9e3779b97f4a7c15UL | 1;
        ulong sequential = 0;
        var issued = new long[options.IoDepth];
        var latency = new LatencyHistogram();
        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(options.RampTime.TotalSeconds * Stopwatch.Frequency);
        var end = measureFrom + (long)(options.Runtime.TotalSeconds * Stopwatch.Frequency);
        long ios = 0, errors = 0;
        var progress = options.Progress is null ? null : new ProgressMeter(options.Progress, start);

        for (var slot = 0; slot < options.IoDepth; slot++)
        {
            Issue(slot);
        }

        client.Publish();
        var outstanding = options.IoDepth;
        var now = start;
        while (outstanding > 0)
        {
            int slot;
            VirtioBlkStatus status;
            if (options.Poll)
            {
                var spinStart = Stopwatch.GetTimestamp();
                while (!client.TryComplete(out slot, out status))
                {
                    if (Stopwatch.GetTimestamp() - spinStart > StallMs * (Stopwatch.Frequency / 1000))
                    {
                        throw new TimeoutException($"the back end completed nothing in {StallMs} ms");
                    }
                }
            }
            else if (!client.WaitComplete(out slot, out status, StallMs))
            {
                throw new TimeoutException($"the back end completed nothing in {StallMs} ms");
            }

            now = Stopwatch.GetTimestamp();
            progress?.Tick(now);
            var stopping = now >= end || cancel.IsCancellationRequested;
            do
            {
                if (verifier is not null)
                {
                    EndVerified(slot, status == VirtioBlkStatus.Ok);
                }

                progress?.Completed(now - issued[slot]);
                if (issued[slot] >= measureFrom && now <= end)
                {
                    latency.Record((long)((now - issued[slot]) * (1e9 / Stopwatch.Frequency)));
                    ios++;
                    if (status != VirtioBlkStatus.Ok)
                    {
                        errors++;
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
            while (client.TryComplete(out slot, out status));

            if (!stopping)
            {
                client.Publish();
            }
        }

        var measured = (Math.Min(now, end) - measureFrom) / (double)Stopwatch.Frequency;
        return new BlkLoadResult(options, ios, errors, Math.Max(measured, 1e-9), latency) { Verifier = verifier };

        void Issue(int slot)
        {
            ulong block;
            var draw = 0UL;
            if (random)
            {
                // xorshift64*: cheap, and the same sequence for the same seed.
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                draw = unchecked(state * 0x2545f4914f6cdd1dUL);
                block = (draw >> 1) % blocks;
            }
            else
            {
                block = sequential;
                sequential = (sequential + 1) % blocks;
            }

            var write = options.Pattern == BlkPattern.RandRW ? (draw & 1) != 0 : writes;
            if (verifier is not null)
            {
                // The next free block: a read never races a write to the same block.
                while (verifier.IsBusy(block))
                {
                    block = (block + 1) % blocks;
                }

                slotBlock[slot] = block;
                if (write)
                {
                    slotGeneration[slot] = verifier.BeginWrite(block, client.Data(slot)[..options.BlockSize]);
                }
                else
                {
                    slotGeneration[slot] = 0;
                    verifier.BeginRead(block);
                }
            }

            issued[slot] = Stopwatch.GetTimestamp();
            client.Add(slot, write ? VirtioBlkRequestType.Out : VirtioBlkRequestType.In, block * sectorsPerBlock, options.BlockSize);
        }

        void EndVerified(int slot, bool succeeded)
        {
            var block = slotBlock[slot];
            if (slotGeneration[slot] != 0)
            {
                verifier.EndWrite(block, slotGeneration[slot], succeeded);
            }
            else if (succeeded)
            {
                verifier.EndRead(block, client.Data(slot)[..options.BlockSize]);
            }
            else
            {
                verifier.EndFailedRead(block);
            }
        }
    }
}
