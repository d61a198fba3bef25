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
/// for load generation and tests: one request queue in shared memory, a fixed set of request
/// slots each with a header, a data buffer and a status byte, submitted in batches and
/// completed from the used ring. Works against any vhost-user-blk back end. One thread.
/// </summary>
public sealed class BlkClient : IDisposable
{
    private const ulong RingArea = 1 << 20;
    private const int HeaderStride = 64;

    private readonly BlkClientOptions _options;
    private readonly VhostUserFrontend _frontend;
    private readonly GuestRegion _region;
    private readonly GuestMemory _memory;
    private readonly FrontendQueue _queue;
    private readonly int[] _slotOfId = new int[ushort.MaxValue + 1];
    private readonly ulong _dataBase;
    private readonly ulong _headerBase;
    private readonly ulong _statusBase;
    private readonly SafeFileHandle? _inflight;

    /// <summary>Each request is one indirect table (one ring slot) when the back end offers INDIRECT_DESC.</summary>
    private readonly bool _indirect;

    /// <summary>Descriptors of one request: header, data, status.</summary>
    private const int ChainLength = 3;

    private BlkClient(string socketPath, BlkClientOptions options)
    {
        _options = options;
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
                | (options.Packed ? VirtioFeature.Bit(VirtioFeature.RingPacked) : 0);
            Features = offered & driverFeatures;
            if ((Features & VirtioFeature.Bit(VirtioFeature.Version1)) == 0)
            {
                throw new InvalidOperationException("the back end does not offer VIRTIO_F_VERSION_1");
            }

            _frontend.SetFeatures(Features);
            if (options.TrackInflight)
            {
                var description = _frontend.GetInflightFd(1, (ushort)options.QueueSize, out var file);
                _inflight = file;
                _frontend.SetInflightFd(description, file);
            }

            var blockStride = (ulong)Align(options.MaxBlockSize, 4096);
            _dataBase = RingArea;
            _headerBase = _dataBase + (blockStride * (ulong)options.Slots);
            _statusBase = _headerBase + ((ulong)HeaderStride * (ulong)options.Slots);
            _indirect = (Features & VirtioFeature.Bit(VirtioFeature.RingIndirectDesc)) != 0;
            var indirectBase = (ulong)Align((long)(_statusBase + (ulong)options.Slots), 4096);
            var indirectEntries = _indirect ? ChainLength : 0;
            var size = Align((long)(indirectBase + DriverQueue.IndirectBytes(options.QueueSize, indirectEntries)), 1 << 21);
            _region = GuestRegion.CreateMemfd(0, (ulong)size, "iovirt-blk-client");
            _memory = new GuestMemory(_region);
            _frontend.SetMemTable(_memory);
            var packed = (Features & VirtioFeature.Bit(VirtioFeature.RingPacked)) != 0;
            var eventIdx = (Features & VirtioFeature.Bit(VirtioFeature.RingEventIdx)) != 0;
            _queue = FrontendQueue.Start(_frontend, _memory, 0, options.QueueSize, packed, eventIdx, ringAddress: 0, indirectBase, indirectEntries);
            _frontend.SetVringEnable(0, true);
            BlockStride = (int)blockStride;
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

    public int Slots => _options.Slots;

    /// <summary>Requests added and not completed yet.</summary>
    public int Outstanding => _queue.Driver.Outstanding;

    private int BlockStride { get; }

    /// <summary>Connects to a vhost-user-blk back end and starts one request queue.</summary>
    public static BlkClient Connect(string socketPath, BlkClientOptions? options = null)
    {
        options ??= new BlkClientOptions();
        if (options.Slots < 1 || options.Slots > options.QueueSize || options.MaxBlockSize < 512 || options.MaxBlockSize % 512 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Slots must be 1 to QueueSize, blocks a multiple of 512.");
        }

        return new BlkClient(socketPath, options);
    }

    /// <summary>The data buffer of <paramref name="slot"/> (<see cref="BlkClientOptions.MaxBlockSize"/> bytes).</summary>
    public unsafe Span<byte> Data(int slot) => new(_region.Host + _dataBase + ((ulong)slot * (ulong)BlockStride), _options.MaxBlockSize);

    /// <summary>
    /// Adds a request in <paramref name="slot"/> (not yet visible to the back end: see
    /// <see cref="Publish"/>): IN/OUT move <paramref name="length"/> bytes of the slot's data
    /// buffer, GET_ID reads 20 bytes, DISCARD/WRITE_ZEROES send the range already written at the
    /// start of the data buffer (<paramref name="length"/> bytes of 16-byte entries).
    /// </summary>
    public unsafe void Add(int slot, VirtioBlkRequestType type, ulong sector, int length)
    {
        var header = _headerBase + ((ulong)slot * HeaderStride);
        var data = _dataBase + ((ulong)slot * (ulong)BlockStride);
        var status = _statusBase + (ulong)slot;
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(_region.Host + header, 4), (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(_region.Host + header + 4, 4), 0);
        BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(_region.Host + header + 8, 8), sector);
        _region.Host[status] = 0xff;
        var deviceWrites = type is VirtioBlkRequestType.In or VirtioBlkRequestType.GetId;
        Span<DriverBuffer> chain = stackalloc DriverBuffer[ChainLength];
        chain[0] = new DriverBuffer(header, VirtioBlkReqHeader.Size, false);
        var count = 1;
        if (length > 0)
        {
            chain[count++] = new DriverBuffer(data, (uint)length, deviceWrites);
        }

        chain[count++] = new DriverBuffer(status, 1, true);
        if (!_queue.Driver.TryAdd(chain[..count], _indirect, out var id))
        {
            throw new InvalidOperationException("the ring is full; complete requests before adding more");
        }

        _slotOfId[id] = slot;
    }

    /// <summary>Makes the added requests visible and kicks the back end if it asked for it.</summary>
    public void Publish() => _queue.Submit();

    /// <summary>Takes one completed request without waiting.</summary>
    public bool TryComplete(out int slot, out VirtioBlkStatus status) =>
        Completed(_queue.Driver.TryTakeUsed(out var id, out _), id, out slot, out status);

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a completion, sleeping on the call eventfd.</summary>
    public bool WaitComplete(out int slot, out VirtioBlkStatus status, int timeoutMs) =>
        Completed(_queue.TryWaitUsed(out var id, out _, timeoutMs), id, out slot, out status);

    /// <summary>The slot and status of the request with chain <paramref name="id"/>, when one <paramref name="completed"/>.</summary>
    private unsafe bool Completed(bool completed, ushort id, out int slot, out VirtioBlkStatus status)
    {
        if (!completed)
        {
            slot = -1;
            status = 0;
            return false;
        }

        slot = _slotOfId[id];
        status = (VirtioBlkStatus)_region.Host[_statusBase + (ulong)slot];
        return true;
    }

    /// <summary>Runs one request in slot 0 and waits for it; throws after <paramref name="timeoutMs"/>.</summary>
    public VirtioBlkStatus Execute(VirtioBlkRequestType type, ulong sector, int length, int timeoutMs = 10_000)
    {
        Add(0, type, sector, length);
        Publish();
        return WaitComplete(out _, out var status, timeoutMs) ? status : throw new TimeoutException($"{type} at sector {sector} did not complete in {timeoutMs} ms");
    }

    /// <summary>Stops the queue (GET_VRING_BASE) and returns the back end's position; requests it took are completed first.</summary>
    public uint StopQueue() => _frontend.GetVringBase(0);

    /// <summary>Writes the config space's writeback byte (CONFIG_WCE): false turns the write cache off.</summary>
    public void SetWriteCache(bool enabled) => _frontend.SetConfig(VirtioBlkConfig.WritebackOffset, [enabled ? (byte)1 : (byte)0]);

    /// <summary>Reads the config space's writeback byte.</summary>
    public bool WriteCacheEnabled => _frontend.GetConfig(VirtioBlkConfig.WritebackOffset, 1) is [1];

    private static ulong Bit(int feature) => 1UL << feature;

    private static long Align(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    public void Dispose()
    {
        _queue?.Dispose();
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
