using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using IoVirt.Abi.Blk;
using IoVirt.Abi.Virtio;
using IoVirt.Devices;
using IoVirt.Virtqueue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoVirt.Backends.Blk;

/// <summary>
/// virtio-blk (virtio 1.2 §5.2) over one <see cref="IBlockImage"/>: IN, OUT, FLUSH, GET_ID,
/// DISCARD and WRITE_ZEROES, one engine and one worker per queue. A write is completed only
/// once it completed on the image; with the write cache off (or FLUSH not negotiated) only once
/// it is durable; a FLUSH is an fdatasync covering every write completed before it.
/// </summary>
public sealed class BlkDevice : VirtioDeviceModel, IDisposable
{
    /// <summary>Data segments one request may have (VIRTIO_BLK_F_SEG_MAX).</summary>
    public const int SegMax = 254;

    /// <summary>Largest data segment (VIRTIO_BLK_F_SIZE_MAX).</summary>
    public const uint SizeMax = 1 << 20;

    /// <summary>Ranges one discard or write-zeroes request may carry.</summary>
    public const int MaxRanges = 32;

    /// <summary>Largest discard or write-zeroes range, in sectors (just under 2 GiB).</summary>
    public const uint MaxRangeSectors = (1u << 22) - 1;

    private const int LoggedErrors = 16;

    private readonly IBlockImage _image;
    private readonly BlkDeviceOptions _options;
    private readonly ILogger _log;
    private readonly BlkQueue[] _queues;
    private readonly byte[] _config = new byte[VirtioBlkConfig.Size];
    private readonly byte[] _id = new byte[VirtioBlk.IdLength];
    private ulong _negotiated;
    private readonly ulong _bytes;
    private int _errorsLogged;
    private int _writeFailedSinceFlush;
    private bool _disposed;

    public BlkDevice(IBlockImage image, BlkDeviceOptions options, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Queues is < 1 or > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Queues, "A block device has 1 to 65535 queues.");
        }

        var serial = Encoding.ASCII.GetBytes(options.Serial);
        if (serial.Length > VirtioBlk.IdLength)
        {
            throw new ArgumentException($"The serial is at most {VirtioBlk.IdLength} ASCII bytes.", nameof(options));
        }

        if (options.Volume is { } volume
            && (volume.Offset < 0 || volume.Size <= 0 || volume.Offset % VirtioBlk.SectorSize != 0 || volume.Size % VirtioBlk.SectorSize != 0
                || (ulong)volume.End > image.Size))
        {
            throw new ArgumentException($"volume {volume} is not whole sectors inside the {image.Size}-byte image", nameof(options));
        }

        _image = image;
        _options = options;
        VolumeOffset = options.Volume?.Offset ?? 0;
        _bytes = (ulong?)options.Volume?.Size ?? image.Size;
        _log = log ?? NullLogger.Instance;
        serial.CopyTo(_id, 0);

        Engine = options.EngineOn(image);

        _queues = new BlkQueue[options.Queues];
        for (var i = 0; i < _queues.Length; i++)
        {
            _queues[i] = new BlkQueue(this, CreateEngine());
        }

        WriteConfigSpace(writeback: true);
        Limits = LimitsFor(0);
        Metrics = options.Metrics;
        MetricsName = options.MetricsName ?? options.Serial;
        Metrics?.Add(this, MetricsName);
    }

    public override string Name => "blk";

    /// <summary>The engine the queues use: the one asked for (Auto resolved), or Sync where io_uring is unavailable.</summary>
    public BlockEngineKind Engine { get; private set; }

    /// <summary>Each queue's counters.</summary>
    public IReadOnlyList<BlkCounters> Counters => [.. _queues.Select(q => q.Counters)];

    /// <summary>Requests in flight on each queue (a moment's view, read from any thread).</summary>
    public IReadOnlyList<int> InFlight => [.. _queues.Select(q => q.InFlight)];

    internal BlkMetrics? Metrics { get; }

    internal string MetricsName { get; }

    /// <summary>The device's counters: every queue's, summed.</summary>
    public BlkTotals Totals => BlkCounters.Sum(_queues.Select(q => q.Counters));

    public override int QueueCount => _queues.Length;

    public override int MaxQueueSize => _options.MaxQueueSize;

    public override ulong Features
    {
        get
        {
            var features = RingFeatures
                | VirtioFeature.Bit(VirtioBlkFeature.SizeMax)
                | VirtioFeature.Bit(VirtioBlkFeature.SegMax)
                | VirtioFeature.Bit(VirtioBlkFeature.BlkSize)
                | VirtioFeature.Bit(VirtioBlkFeature.Topology)
                | VirtioFeature.Bit(VirtioBlkFeature.Flush)
                | VirtioFeature.Bit(VirtioBlkFeature.ConfigWce)
                | VirtioFeature.Bit(VirtioBlkFeature.Mq);
            return _options.ReadOnly
                ? features | VirtioFeature.Bit(VirtioBlkFeature.ReadOnly)
                : features | VirtioFeature.Bit(VirtioBlkFeature.Discard) | VirtioFeature.Bit(VirtioBlkFeature.WriteZeroes);
        }
    }

    public override ReadOnlySpan<byte> ConfigSpace => _config;

    /// <summary>What requests are checked against: fixed at feature negotiation.</summary>
    public BlkLimits Limits { get; private set; }

    /// <summary>Where the device's sector 0 is in the image: requests are moved by this, and can reach only the device's own bytes.</summary>
    internal long VolumeOffset { get; }

    /// <summary>Writes may complete before they are durable (a later FLUSH makes them so).</summary>
    public bool WriteCacheEnabled => Negotiated(VirtioBlkFeature.Flush) && _config[VirtioBlkConfig.WritebackOffset] != 0;

    /// <summary>The GET_ID reply: the serial, NUL-padded to 20 bytes.</summary>
    internal ReadOnlySpan<byte> Id => _id;

    public override void FeaturesNegotiated(ulong features)
    {
        _negotiated = features;
        Limits = LimitsFor(features);

        // Write-back is the default once FLUSH is there to make writes durable (virtio 1.2 §5.2.5).
        WriteConfigSpace(writeback: Negotiated(VirtioBlkFeature.Flush));
    }

    public override bool WriteConfig(uint offset, ReadOnlySpan<byte> data)
    {
        if (offset != VirtioBlkConfig.WritebackOffset || data.Length != 1 || !Negotiated(VirtioBlkFeature.ConfigWce) || data[0] > 1)
        {
            return false;
        }

        _config[VirtioBlkConfig.WritebackOffset] = data[0];
        _log.LogInformation("blk: the driver set the write cache to {Mode}", data[0] != 0 ? "write-back" : "write-through");
        return true;
    }

    public override int QueueEventSource(int queueIndex) => _queues[queueIndex].CompletionEvent;

    public override bool YieldsWhilePolling => Engine.YieldsWhilePolling();

    public override void ProcessQueue(int queueIndex, DeviceQueue queue) => _queues[queueIndex].Process(queue);

    public override void QuiesceQueue(int queueIndex, DeviceQueue queue) => _queues[queueIndex].Quiesce(queue);

    public override void SaveState(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.WriteByte(_config[VirtioBlkConfig.WritebackOffset]);
    }

    public override void LoadState(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var writeback = source.ReadByte();
        if (writeback is not (0 or 1) || source.ReadByte() >= 0)
        {
            throw new InvalidDataException("a blk device state is one write-cache byte, 0 or 1");
        }

        _config[VirtioBlkConfig.WritebackOffset] = (byte)writeback;
    }

    public override void Reset()
    {
        foreach (var queue in _queues)
        {
            queue.Abandon();
        }

        _negotiated = 0;
        Volatile.Write(ref _writeFailedSinceFlush, 0);
        Limits = LimitsFor(0);
        WriteConfigSpace(writeback: true);
    }

    /// <summary>The fallocate mode for a discard or write-zeroes range on this image.</summary>
    internal int AllocateMode(BlkRange range) => _image.ZeroingMode(range.Unmap);

    /// <summary>A write, discard or write-zeroes failed since the last FLUSH (any queue).</summary>
    internal void NoteWriteFailure() => Volatile.Write(ref _writeFailedSinceFlush, 1);

    /// <summary>Whether a write failed since the last FLUSH took this; clears it, so each failure fails one FLUSH.</summary>
    internal bool TakeWriteFailure() => Interlocked.Exchange(ref _writeFailedSinceFlush, 0) != 0;

    internal void ReportEngineChange(string change) => _log.LogInformation("blk: {Change}", change);

    internal void ReportIoError(VirtioBlkRequestType type, int result, int expected)
    {
        if (Interlocked.Increment(ref _errorsLogged) > LoggedErrors)
        {
            return;
        }

        var reason = result < 0 ? Marshal.GetPInvokeErrorMessage(-result) : $"{result} of {expected} bytes";
        _log.LogError("blk: {Type} on {Image} failed: {Reason}{More}", type, _image.Name, reason,
            _errorsLogged == LoggedErrors ? " (further I/O errors are not logged)" : string.Empty);
    }

    private bool Negotiated(int feature) => (_negotiated & VirtioFeature.Bit(feature)) != 0;

    private IBlockEngine CreateEngine()
    {
        var engine = CreateImageEngine();
        return _options.Arbitration is { } arbitration ? new ArbitratedBlockEngine(engine, arbitration, _options.MaxQueueSize) : engine;
    }

    private IBlockEngine CreateImageEngine()
    {
        if (Engine == BlockEngineKind.Uring)
        {
            try
            {
                return _image.CreateEngine(BlockEngineKind.Uring, _options.MaxQueueSize, _options.SubmissionPollCpu, _options.FixedBuffers);
            }
            catch (Exception e) when (e is PlatformNotSupportedException or System.ComponentModel.Win32Exception)
            {
                _log.LogWarning("blk: io_uring is unavailable ({Reason}); using the synchronous engine", e.Message);
                Engine = BlockEngineKind.Sync;
            }
        }

        return _image.CreateEngine(Engine, _options.MaxQueueSize, submissionPollCpu: null);
    }

    private BlkLimits LimitsFor(ulong features)
    {
        bool Has(int bit) => (features & VirtioFeature.Bit(bit)) != 0;
        return new BlkLimits(
            CapacitySectors: _bytes / VirtioBlk.SectorSize,
            ReadOnly: _options.ReadOnly,
            SegMax: SegMax,
            SizeMax: SizeMax,
            MaxDiscardSectors: MaxRangeSectors,
            MaxDiscardSeg: MaxRanges,
            MaxWriteZeroesSectors: MaxRangeSectors,
            MaxWriteZeroesSeg: MaxRanges,
            Flush: Has(VirtioBlkFeature.Flush),
            Discard: Has(VirtioBlkFeature.Discard) && !_options.ReadOnly,
            WriteZeroes: Has(VirtioBlkFeature.WriteZeroes) && !_options.ReadOnly);
    }

    private void WriteConfigSpace(bool writeback)
    {
        var logical = _image.LogicalBlockSize;
        var physical = Math.Max(_image.PhysicalBlockSize, logical);
        var config = new VirtioBlkConfig
        {
            Capacity = _bytes / VirtioBlk.SectorSize,
            SizeMax = SizeMax,
            SegMax = SegMax,
            BlkSize = logical,
            Topology = new VirtioBlkTopology
            {
                PhysicalBlockExp = (byte)BitOperations.Log2(physical / logical),
                MinIoSize = 1,
            },
            Writeback = writeback ? (byte)1 : (byte)0,
            NumQueues = (ushort)_queues.Length,
            MaxDiscardSectors = MaxRangeSectors,
            MaxDiscardSeg = MaxRanges,
            DiscardSectorAlignment = physical / VirtioBlk.SectorSize,
            MaxWriteZeroesSectors = MaxRangeSectors,
            MaxWriteZeroesSeg = MaxRanges,
            WriteZeroesMayUnmap = 1,
        };
        MemoryMarshal.Write(_config, in config);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Metrics?.Remove(this);
        foreach (var queue in _queues)
        {
            queue.Dispose();
        }
    }
}
