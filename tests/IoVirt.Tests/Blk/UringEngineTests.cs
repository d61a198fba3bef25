using System.Runtime.InteropServices;
using IoVirt.Backends.Blk;
using IoVirt.Memory;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Tests.Blk;

/// <summary>
/// The io_uring engine, with the worker submitting and with a kernel thread polling the ring
/// (SQPOLL): a batch that needs more iovecs than the engine's array holds waits until the
/// kernel has taken the entries pointing into it, so every operation reads its own data. Guest
/// memory given to the engine is registered as fixed buffers, and single-buffer operations in it
/// use them.
/// </summary>
public sealed unsafe class UringEngineTests
{
    private const int Operations = 6;
    private const int VectorsPerOperation = 1000;
    private const int VectorBytes = 512;
    private const int OperationBytes = VectorsPerOperation * VectorBytes;

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    public void Operations_past_the_iovec_array_read_their_own_data(int? submissionPollCpu)
    {
        using var store = BlockStore.CreateRam(Operations * OperationBytes, readOnly: false);
        var image = new byte[Operations * OperationBytes];
        new Random(11).NextBytes(image);
        fixed (byte* p = image)
        {
            var whole = new iovec { iov_base = p, iov_len = (size_t)(ulong)image.Length };
            Assert.Equal(image.Length, store.Buffered.WriteAt(0, new ReadOnlySpan<iovec>(&whole, 1), dsync: false));
        }

        var buffer = (byte*)NativeMemory.AllocZeroed((nuint)image.Length);
        var vectors = new iovec[VectorsPerOperation];
        try
        {
            using var engine = store.CreateEngine(BlockEngineKind.Uring, 64, submissionPollCpu);

            // 6,000 iovecs in one batch: more than the engine's array of 4,096.
            for (var op = 0; op < Operations; op++)
            {
                for (var i = 0; i < VectorsPerOperation; i++)
                {
                    vectors[i] = new iovec { iov_base = buffer + (op * OperationBytes) + (i * VectorBytes), iov_len = VectorBytes };
                }

                engine.Read((ulong)op, (long)op * OperationBytes, vectors);
            }

            engine.Submit();
            var done = new HashSet<ulong>();
            while (done.Count < Operations)
            {
                if (!engine.TryTakeCompletion(out var tag, out var result))
                {
                    engine.WaitForCompletion();
                    continue;
                }

                Assert.Equal(OperationBytes, result);
                Assert.True(done.Add(tag), $"operation {tag} completed twice");
            }

            Assert.True(new ReadOnlySpan<byte>(buffer, image.Length).SequenceEqual(image), "a read landed somewhere else than its own buffers");
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    public void Single_buffer_operations_in_registered_guest_memory_use_the_pinned_pages(int? submissionPollCpu)
    {
        const int Block = 4096;
        using var store = BlockStore.CreateRam(16 * Block, readOnly: false);
        using var memory = new GuestMemory(GuestRegion.Allocate(0x10_0000, 16 * Block));
        var region = memory.Regions[0];
        var data = new byte[Block];
        new Random(5).NextBytes(data);
        data.CopyTo(new Span<byte>(region.Host, Block));

        using (var plain = store.CreateEngine(BlockEngineKind.Uring, 16, submissionPollCpu))
        {
            Assert.Null(plain.UseMemory(memory)); // fixed buffers are asked for
        }

        using var engine = store.CreateEngine(BlockEngineKind.Uring, 16, submissionPollCpu, fixedBuffers: true);
        Assert.Matches("registered as 1 fixed buffer", engine.UseMemory(memory));
        Assert.Null(engine.UseMemory(memory));
        Assert.Equal(Block, Run(engine, e => e.Write(1, 3 * Block, [Vector(region.Host, Block)], durable: false)));

        // With the region's pages out of reach of this process's own accesses, a read that
        // resolved its buffer through the mapping would fail (EFAULT); one on the registered
        // buffer goes through the pages pinned at registration.
        var target = region.Host + (5 * Block);
        Assert.Equal(0, mprotect(region.Host, 16 * Block, PROT_NONE));
        int result;
        try
        {
            result = Run(engine, e => e.Read(2, 3 * Block, [Vector(target, Block)]));
        }
        finally
        {
            Assert.Equal(0, mprotect(region.Host, 16 * Block, PROT_READ | PROT_WRITE));
        }

        Assert.Equal(Block, result);
        Assert.True(new ReadOnlySpan<byte>(target, Block).SequenceEqual(data));

        // Buffers outside it, or more than one, go as vectors.
        var outside = (byte*)NativeMemory.AllocZeroed(Block);
        try
        {
            Assert.Equal(Block, Run(engine, e => e.Read(3, 3 * Block, [Vector(outside, Block)])));
            Assert.True(new ReadOnlySpan<byte>(outside, Block).SequenceEqual(data));
        }
        finally
        {
            NativeMemory.Free(outside);
        }

        Assert.Equal(2 * Block, Run(engine, e => e.Read(4, 2 * Block, [Vector(region.Host + (8 * Block), Block), Vector(region.Host + (10 * Block), Block)])));
        Assert.True(new ReadOnlySpan<byte>(region.Host + (10 * Block), Block).SequenceEqual(data));

        // Another map (a memory table change) is registered in its place.
        using var next = new GuestMemory(GuestRegion.Allocate(0x10_0000, 16 * Block));
        Assert.Matches("registered as 1 fixed buffer", engine.UseMemory(next));
    }

    private static iovec Vector(byte* at, int length) => new() { iov_base = at, iov_len = (size_t)(ulong)length };

    /// <summary>Queues one operation, submits it and returns its result.</summary>
    private static int Run(IBlockEngine engine, Action<IBlockEngine> queue)
    {
        queue(engine);
        engine.Submit();
        int result;
        while (!engine.TryTakeCompletion(out _, out result))
        {
            engine.WaitForCompletion();
        }

        return result;
    }
}
