using System.Runtime.InteropServices;
using IoVirt.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace IoVirt.Tests.Interop;

/// <summary>A restricted ring runs what it was restricted to and refuses anything else with EACCES, registering buffers included unless allowed.</summary>
public unsafe class IoUringRestrictionTests
{
    [Fact]
    public void A_restricted_ring_refuses_operations_outside_its_list()
    {
        using var ring = new IoUring(16, disabled: true);
        ring.RestrictTo([IORING_OP_NOP], 0);

        Submit(ring, IORING_OP_NOP, tag: 1);
        Submit(ring, IORING_OP_OPENAT, tag: 2);
        var results = new Dictionary<ulong, int>();
        while (results.Count < 2)
        {
            Assert.True(ring.Submit(waitFor: 1));
            while (ring.TryTakeCompletion(out var tag, out var result))
            {
                results[tag] = result;
            }
        }

        Assert.Equal(0, results[1]);
        Assert.Equal(-EACCES, results[2]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_restricted_ring_registers_buffers_only_when_allowed(bool allowed)
    {
        using var ring = new IoUring(16, disabled: true);
        ring.RestrictTo([IORING_OP_READ_FIXED], 0, buffers: allowed);
        var memory = NativeMemory.AlignedAlloc(4096, 4096);
        try
        {
            if (allowed)
            {
                Assert.Equal(0, ring.TryRegisterBuffers([new iovec { iov_base = memory, iov_len = 4096 }]));
                Assert.Equal(0, ring.TryRegisterBuffers([]));
            }
            else
            {
                var refused = Assert.Throws<System.ComponentModel.Win32Exception>(() => ring.TryRegisterBuffers([new iovec { iov_base = memory, iov_len = 4096 }]));
                Assert.Equal(EACCES, refused.NativeErrorCode);
            }
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }

    private static void Submit(IoUring ring, byte opcode, ulong tag)
    {
        var sqe = ring.TryGetEntry();
        Assert.True(sqe is not null);
        sqe->opcode = opcode;
        sqe->fd = -1;
        sqe->user_data = tag;
    }
}
