using System.Diagnostics;
using System.Numerics;
using System.Runtime.ExceptionServices;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Interop;

namespace IoVirt.Backends.Blk.Load;

/// <summary>
/// A VM-free load generator for any vhost-user-blk back end (fio's model without a guest):
/// keeps <see cref="BlkLoadOptions.IoDepth"/> requests outstanding on each of
/// <see cref="BlkLoadOptions.Queues"/> queues, one thread per queue (<see cref="QueueLoad"/>),
/// and sums what they measured.
/// </summary>
public static class BlkLoadGenerator
{
    /// <summary>The device's serial (GET_ID) as a verifier's tag, so a stamp names the device it was written to.</summary>
    private static ulong VerifierTag(BlkClient client)
    {
        var status = client.Execute(VirtioBlkRequestType.GetId, 0, VirtioBlk.IdLength);
        var serial = status == VirtioBlkStatus.Ok ? client.Data(0)[..VirtioBlk.IdLength] : [];
        return BlockStamp.Tag(serial.TrimEnd((byte)0));
    }

    public static BlkLoadResult Run(BlkLoadOptions options, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BlockSize < 512 || options.BlockSize % 512 != 0 || options.IoDepth < 1 || options.IoDepth > 1024 || options.Queues is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "The block size is a multiple of 512, the depth 1 to 1024 and the queues 1 to 64.");
        }

        var queueSize = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(64, options.IoDepth));
        using var client = BlkClient.Connect(options.SocketPath, new BlkClientOptions
        {
            Queues = options.Queues,
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
        var queues = (ulong)options.Queues;
        if (blocks < queues)
        {
            throw new InvalidOperationException($"the device ({deviceBytes} bytes) has fewer {options.BlockSize}-byte blocks than queues ({options.Queues})");
        }

        var sectorsPerBlock = options.BlockSize / (int)VirtioBlk.SectorSize;
        var tag = options.Verify ? VerifierTag(client) : 0;
        var loads = new QueueLoad[options.Queues];
        for (var q = 0UL; q < queues; q++)
        {
            // Each queue its own contiguous part: the first parts one block larger when blocks do not divide.
            var share = (blocks / queues) + (q < blocks % queues ? 1UL : 0);
            var first = (q * (blocks / queues)) + Math.Min(q, blocks % queues);
            if (options.Verify && share <= (ulong)options.IoDepth)
            {
                throw new InvalidOperationException($"verifying needs more blocks per queue ({share}) than requests outstanding ({options.IoDepth})");
            }

            var verifier = options.Verify ? new BlockVerifier(blocks, sectorsPerBlock, tag) : null;
            loads[q] = new QueueLoad(client.Queues[(int)q], options, first, share, verifier);
        }

        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(options.RampTime.TotalSeconds * Stopwatch.Frequency);
        var end = measureFrom + (long)(options.Runtime.TotalSeconds * Stopwatch.Frequency);
        var progress = options.Progress is null ? null : new ProgressMeter(options.Progress, start);
        RunAll(loads, load => load.Run(start, measureFrom, end, progress, cancel));

        var latency = new LatencyHistogram();
        long ios = 0, errors = 0, last = start;
        foreach (var load in loads)
        {
            latency.Add(load.Latency);
            ios += load.Ios;
            errors += load.Errors;
            last = Math.Max(last, load.LastCompletion);
        }

        var measured = (Math.Min(last, end) - measureFrom) / (double)Stopwatch.Frequency;
        return new BlkLoadResult(options, ios, errors, Math.Max(measured, 1e-9), latency)
        {
            Verifiers = [.. loads.Select(load => load.Verifier).OfType<BlockVerifier>()],
        };
    }

    /// <summary>Runs each load on a thread of its own (the first on the caller's); the first failure is rethrown once all have ended.</summary>
    private static void RunAll(QueueLoad[] loads, Action<QueueLoad> run)
    {
        var failures = new ExceptionDispatchInfo?[loads.Length];
        var threads = new Thread[loads.Length - 1];
        for (var i = 1; i < loads.Length; i++)
        {
            var index = i;
            threads[i - 1] = SelfNamedThread.Create($"bench-blk-q{i}", () => failures[index] = Capture(() => run(loads[index])));
            threads[i - 1].Start();
        }

        failures[0] = Capture(() => run(loads[0]));
        foreach (var thread in threads)
        {
            thread.Join();
        }

        failures.FirstOrDefault(failure => failure is not null)?.Throw();
    }

    private static ExceptionDispatchInfo? Capture(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return ExceptionDispatchInfo.Capture(e);
        }
    }
}
