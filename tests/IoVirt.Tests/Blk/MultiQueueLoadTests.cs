using IoVirt.Backends.Blk;
using IoVirt.Backends.Blk.Load;
using IoVirt.Testing;

namespace IoVirt.Tests.Blk;

/// <summary>
/// bench-blk's generator on several queues: a thread and a part of the device for each queue,
/// every read checked, every queue of the device busy; a device with fewer queues is refused.
/// </summary>
public sealed class MultiQueueLoadTests
{
    [Theory]
    [InlineData(BlockEngineKind.Uring, false)]
    [InlineData(BlockEngineKind.Mapped, true)]
    public void Each_queue_carries_verified_load_of_its_own(BlockEngineKind engine, bool packed)
    {
        using var store = BlockStore.CreateRam(16 << 20, readOnly: false);
        using var device = new BlkDevice(store, new BlkDeviceOptions { Engine = engine, Queues = 3, Serial = "multiqueue" });
        using (var bed = new VhostUserTestBed(device))
        {
            var result = BlkLoadGenerator.Run(new BlkLoadOptions
            {
                SocketPath = bed.SocketPath,
                Queues = 3,
                IoDepth = 8,
                Pattern = BlkPattern.RandRW,
                Verify = true,
                Packed = packed,
                Runtime = TimeSpan.FromSeconds(1),
                RampTime = TimeSpan.Zero,
            });

            Assert.Equal(0, result.Errors);
            Assert.Equal(3, result.Verifiers.Count);
            Assert.Equal(0, result.Mismatches);
            Assert.All(result.Verifiers, verifier => Assert.True(verifier.VerifiedBytes > 0));
            Assert.All(device.Counters, queue => Assert.True(queue.Reads > 0 && queue.Writes > 0));
            var totals = device.Totals;
            Assert.True(totals.Reads + totals.Writes >= result.Ios, $"the device served {totals.Reads + totals.Writes} requests, the generator counted {result.Ios}");
        }
    }

    [Fact]
    public void A_device_with_fewer_queues_than_asked_is_refused()
    {
        using var store = BlockStore.CreateRam(1 << 20, readOnly: false);
        using var device = new BlkDevice(store, new BlkDeviceOptions { Engine = BlockEngineKind.Mapped, Queues = 2 });
        using var bed = new VhostUserTestBed(device);
        var refused = Assert.Throws<InvalidOperationException>(() => BlkLoadGenerator.Run(new BlkLoadOptions
        {
            SocketPath = bed.SocketPath,
            Queues = 3,
            Runtime = TimeSpan.FromSeconds(1),
        }));
        Assert.Contains("2 request queue(s), fewer than the 3 asked for", refused.Message, StringComparison.Ordinal);
    }
}
