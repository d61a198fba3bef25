using System.Runtime.InteropServices;
using IoVirt.Backends.Blk;
using Tmds.Linux;

namespace IoVirt.Tests.Blk;

/// <summary>
/// The io_uring engine, with the worker submitting and with a kernel thread polling the ring
/// (SQPOLL): a batch that needs more iovecs than the engine's array holds waits until the
/// kernel has taken the entries pointing into it, so every operation reads its own data.
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
}
