using System.Buffers.Binary;
using IoVirt.Abi.Blk;
using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.VhostUser;
using IoVirt.Virtqueue.Driver;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Backends.Blk.Client;

/// <summary>
/// The driver side of a virtio-blk device reached over vhost-user, as a guest would drive it,
/// for load generation and tests: one or more request queues in shared memory
/// (<see cref="BlkClientQueue"/>), each with a fixed set of request slots, submitted in batches
/// and completed from the used ring. Works against any vhost-user-blk back end. The members
/// that take no queue act on queue 0.
/// </summary>
public sealed class BlkClient : IDisposable
{
    /// <summary>Guest memory each queue's ring may take (a split ring of 32768 entries fits).</summary>
    private const ulong RingArea = 1 << 20;

    private readonly VhostUserFrontend _frontend;
    private readonly GuestRegion _region;
    private readonly GuestMemory _memory;
    private readonly BlkClientQueue[] _queues = [];
    private readonly SafeFileHandle? _inflight;

    private BlkClient(string socketPath, BlkClientOptions options)
    {
        _frontend = VhostUserFrontend.Connect(socketPath);
        try
        {
            var offered = _frontend.GetFeatures();
            var protocol = _frontend.GetProtocolFeatures();
            var wanted = VhostUserProtocolFeatures.Config | VhostUserProtocolFeatures.ReplyAck
                | (options.TrackInflight ? VhostUserProtocolFeatures.InflightShmfd : VhostUserProtocolFeatures.None);
            if ((protocol & VhostUserProtocolFeatures.Config) == 0 || (options.TrackInflight && (protocol & VhostUserProtocolFeatures.InflightShmfd) == 0))
            {
                throw new InvalidOperationException("the back end offers no CONFIG (or no INFLIGHT_SHMFD); it is not a vhost-user-blk back end this client can drive");
            }

            _frontend.SetProtocolFeatures(protocol & wanted);
            _frontend.SetOwner();
            var config = _frontend.GetConfig(0, VirtioBlkConfig.WriteZeroesMayUnmapOffset + 1);
            if (config.Length == 0)
            {
                throw new InvalidOperationException("the back end refused GET_CONFIG");
            }

            CapacitySectors = BinaryPrimitives.ReadUInt64LittleEndian(config);
            var multiqueue = options.Queues > 1;
            var driverFeatures = VirtioFeature.Bit(VirtioFeature.Version1)
                | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures)
                | VirtioFeature.Bit(VirtioFeature.RingEventIdx)
                | VirtioFeature.Bit(VirtioFeature.RingIndirectDesc)
                | VirtioFeature.Bit(VirtioBlkFeature.Flush)
                | VirtioFeature.Bit(VirtioBlkFeature.BlkSize)
                | VirtioFeature.Bit(VirtioBlkFeature.SegMax)
                | VirtioFeature.Bit(VirtioBlkFeature.SizeMax)
                | VirtioFeature.Bit(VirtioBlkFeature.ConfigWce)
                | VirtioFeature.Bit(VirtioBlkFeature.Discard)
                | VirtioFeature.Bit(VirtioBlkFeature.WriteZeroes)
                | VirtioFeature.Bit(VirtioBlkFeature.ReadOnly)
                | (multiqueue ? VirtioFeature.Bit(VirtioBlkFeature.Mq) : 0)
                | (options.Packed ? VirtioFeature.Bit(VirtioFeature.RingPacked) : 0);
            Features = offered & driverFeatures;
            if ((Features & VirtioFeature.Bit(VirtioFeature.Version1)) == 0)
            {
                throw new InvalidOperationException("the back end does not offer VIRTIO_F_VERSION_1");
            }

            if (multiqueue)
            {
                var deviceQueues = (Features & VirtioFeature.Bit(VirtioBlkFeature.Mq)) == 0
                    ? 1
                    : BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(VirtioBlkConfig.NumQueuesOffset));
                if (deviceQueues < options.Queues)
                {
                    throw new InvalidOperationException($"the back end has {deviceQueues} request queue(s), fewer than the {options.Queues} asked for");
                }
            }

            _frontend.SetFeatures(Features);
            if (options.TrackInflight)
            {
                var description = _frontend.GetInflightFd((ushort)options.Queues, (ushort)options.QueueSize, out var file);
                _inflight = file;
                _frontend.SetInflightFd(description, file);
            }

            var blockStride = (int)Align(options.MaxBlockSize, 4096);
            var indirect = (Features & VirtioFeature.Bit(VirtioFeature.RingIndirectDesc)) != 0;
            var indirectEntries = indirect ? BlkClientQueue.ChainLength : 0;
            var slotBytes = (long)BlkClientQueue.SlotBytes(options.Slots, blockStride);
            var indirectOffset = Align(slotBytes, 4096);
            var queueBytes = Align(indirectOffset + (long)DriverQueue.IndirectBytes(options.QueueSize, indirectEntries), 4096);
            var slotsStart = (long)RingArea * options.Queues;
            _region = GuestRegion.CreateMemfd(0, (ulong)Align(slotsStart + (queueBytes * options.Queues), 1 << 21), "iovirt-blk-client");
            _memory = new GuestMemory(_region);
            _frontend.SetMemTable(_memory);
            var packed = (Features & VirtioFeature.Bit(VirtioFeature.RingPacked)) != 0;
            var eventIdx = (Features & VirtioFeature.Bit(VirtioFeature.RingEventIdx)) != 0;
            _queues = new BlkClientQueue[options.Queues];
            for (var i = 0; i < options.Queues; i++)
            {
                var slotsBase = (ulong)(slotsStart + (queueBytes * i));
                var ring = FrontendQueue.Start(
                    _frontend, _memory, (uint)i, options.QueueSize, packed, eventIdx,
                    ringAddress: RingArea * (ulong)i, slotsBase + (ulong)indirectOffset, indirectEntries);
                _queues[i] = new BlkClientQueue(ring, _region, slotsBase, options.Slots, blockStride, options.MaxBlockSize, indirect);
                _frontend.SetVringEnable((uint)i, true);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Device size in 512-byte sectors, from its config space.</summary>
    public ulong CapacitySectors { get; }

    /// <summary>The features negotiated.</summary>
    public ulong Features { get; }

    /// <summary>The request queues started, in device order.</summary>
    public IReadOnlyList<BlkClientQueue> Queues => _queues;

    public int Slots => _queues[0].Slots;

    /// <summary>Requests added to queue 0 and not completed yet.</summary>
    public int Outstanding => _queues[0].Outstanding;

    /// <summary>Connects to a vhost-user-blk back end and starts its request queues.</summary>
    public static BlkClient Connect(string socketPath, BlkClientOptions? options = null)
    {
        options ??= new BlkClientOptions();
        if (options.Slots < 1 || options.Slots > options.QueueSize || options.MaxBlockSize < 512 || options.MaxBlockSize % 512 != 0 || options.Queues is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Slots must be 1 to QueueSize, blocks a multiple of 512, queues 1 to 64.");
        }

        return new BlkClient(socketPath, options);
    }

    /// <inheritdoc cref="BlkClientQueue.Data"/>
    public Span<byte> Data(int slot) => _queues[0].Data(slot);

    /// <inheritdoc cref="BlkClientQueue.Add"/>
    public void Add(int slot, VirtioBlkRequestType type, ulong sector, int length) => _queues[0].Add(slot, type, sector, length);

    /// <inheritdoc cref="BlkClientQueue.Publish"/>
    public void Publish() => _queues[0].Publish();

    /// <inheritdoc cref="BlkClientQueue.TryComplete"/>
    public bool TryComplete(out int slot, out VirtioBlkStatus status) => _queues[0].TryComplete(out slot, out status);

    /// <inheritdoc cref="BlkClientQueue.WaitComplete"/>
    public bool WaitComplete(out int slot, out VirtioBlkStatus status, int timeoutMs) => _queues[0].WaitComplete(out slot, out status, timeoutMs);

    /// <inheritdoc cref="BlkClientQueue.Execute"/>
    public VirtioBlkStatus Execute(VirtioBlkRequestType type, ulong sector, int length, int timeoutMs = 10_000) =>
        _queues[0].Execute(type, sector, length, timeoutMs);

    /// <summary>Stops the queue (GET_VRING_BASE) and returns the back end's position; requests it took are completed first.</summary>
    public uint StopQueue() => _frontend.GetVringBase(0);

    /// <summary>Writes the config space's writeback byte (CONFIG_WCE): false turns the write cache off.</summary>
    public void SetWriteCache(bool enabled) => _frontend.SetConfig(VirtioBlkConfig.WritebackOffset, [enabled ? (byte)1 : (byte)0]);

    /// <summary>Reads the config space's writeback byte.</summary>
    public bool WriteCacheEnabled => _frontend.GetConfig(VirtioBlkConfig.WritebackOffset, 1) is [1];

    private static long Align(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    public void Dispose()
    {
        foreach (var queue in _queues)
        {
            queue?.Dispose();
        }

        _frontend.Dispose();

        // The memory map owns the region once made.
        if (_memory is not null)
        {
            _memory.Dispose();
        }
        else
        {
            _region?.Dispose();
        }

        _inflight?.Dispose();
    }
}
