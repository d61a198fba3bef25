using System.Buffers.Binary;
using IoVirt.Abi.Blk;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Blk;
using IoVirt.Memory;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Testing;

/// <summary>
/// The block device's request path in one thread, without sockets: the driver adds a batch of
/// 4 KiB IN or OUT requests (header, data, status), the device processes the queue through its
/// engine on a RAM disk until every request is used, and the driver takes them back. What the
/// benchmark measures and the allocation test checks.
/// </summary>
public sealed class BlkRequestWorkload : IDisposable
{
    public const int Batch = 32;
    private const int BlockSize = 4096;

    private readonly QueueHarness _harness;
    private readonly BlockStore _store;
    private readonly BlkDevice _device;
    private readonly DriverBuffer[][] _chains = new DriverBuffer[Batch][];

    private BlkRequestWorkload(bool packed, BlockEngineKind engine, VirtioBlkRequestType type)
    {
        _harness = QueueHarness.Create(packed, 256, eventIdx: true, indirect: false, dataBytes: Batch * 8192);
        _store = BlockStore.CreateRam(16 << 20);
        _device = new BlkDevice(_store, new BlkDeviceOptions { Engine = engine });
        _device.FeaturesNegotiated(_device.Features & ~VirtioFeature.Bit(VirtioFeature.RingPacked));
        Span<byte> bytes = stackalloc byte[16];
        for (var i = 0; i < Batch; i++)
        {
            var header = _harness.DataBase + ((ulong)i * 64);
            var data = _harness.DataBase + (Batch * 64UL) + ((ulong)i * BlockSize);
            var status = header + 32;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)type);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], (ulong)i * 8);
            if (_harness.Memory.Write(header, bytes) != MemoryFault.None)
            {
                throw new InvalidOperationException("the request header is outside the harness memory");
            }

            _chains[i] = [new(header, 16, false), new(data, BlockSize, type == VirtioBlkRequestType.In), new(status, 1, true)];
        }
    }

    public static BlkRequestWorkload Create(bool packed, BlockEngineKind engine, VirtioBlkRequestType type) => new(packed, engine, type);

    /// <summary>Runs <paramref name="batches"/> batches; returns the requests completed.</summary>
    public long Run(int batches)
    {
        long completed = 0;
        for (var b = 0; b < batches; b++)
        {
            foreach (var chain in _chains)
            {
                _ = _harness.Driver.TryAdd(chain, indirect: false, out _);
            }

            _harness.Driver.PublishAvail();
            var taken = 0;
            while (taken < Batch)
            {
                _device.ProcessQueue(0, _harness.Device);
                _harness.Device.PublishUsed();
                while (_harness.Driver.TryTakeUsed(out _, out _))
                {
                    taken++;
                }
            }

            completed += taken;
        }

        return completed;
    }

    public void Dispose()
    {
        _device.Dispose();
        _store.Dispose();
        _harness.Dispose();
    }
}
