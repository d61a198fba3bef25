using IoVirt.Backends.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Testing;

namespace IoVirt.Tests.Blk;

/// <summary>A block device on a RAM disk served on a real socket, and a <see cref="BlkClient"/> driving it.</summary>
internal sealed class BlkBed : IDisposable
{
    public const ulong DiskBytes = 16 << 20;

    public BlkBed(BlockEngineKind engine = BlockEngineKind.Uring, bool packed = false, bool readOnly = false, int slots = 8, BlockStore? store = null, BlkMetrics? metrics = null)
    {
        Store = store ?? BlockStore.CreateRam(DiskBytes, readOnly);
        Device = new BlkDevice(Store, new BlkDeviceOptions { Engine = engine, ReadOnly = readOnly, Serial = "bed-serial", Metrics = metrics });
        TestBed = new VhostUserTestBed(Device);
        Client = BlkClient.Connect(TestBed.SocketPath, new BlkClientOptions { Packed = packed, Slots = slots, MaxBlockSize = 1 << 20 });
    }

    public BlockStore Store { get; }

    public BlkDevice Device { get; }

    public VhostUserTestBed TestBed { get; }

    public BlkClient Client { get; }

    /// <summary>The image's bytes at <paramref name="offset"/>, read beside the device.</summary>
    public unsafe byte[] ImageBytes(long offset, int length)
    {
        var bytes = new byte[length];
        fixed (byte* p = bytes)
        {
            var vector = new Tmds.Linux.iovec { iov_base = p, iov_len = (Tmds.Linux.size_t)(ulong)length };
            Assert.Equal(length, Store.Buffered.ReadAt(offset, new ReadOnlySpan<Tmds.Linux.iovec>(&vector, 1)));
        }

        return bytes;
    }

    public unsafe void WriteImage(long offset, byte[] bytes)
    {
        fixed (byte* p = bytes)
        {
            var vector = new Tmds.Linux.iovec { iov_base = p, iov_len = (Tmds.Linux.size_t)(ulong)bytes.Length };
            Assert.Equal(bytes.Length, Store.Buffered.WriteAt(offset, new ReadOnlySpan<Tmds.Linux.iovec>(&vector, 1), dsync: false));
        }
    }

    public void Dispose()
    {
        Client.Dispose();
        TestBed.Dispose();
        Device.Dispose();
        Store.Dispose();
    }
}
