using System.Runtime.InteropServices;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;

namespace IoVirt.Tests.Virtqueue;

/// <summary>
/// A packed ring whose back end died in the middle of a batch of completions: the batch's
/// later elements were already marked used (its first is published last, so the driver sees
/// the batch at once). The successor resubmits every chain of the batch from the inflight
/// area; the driver must see each completion once, when the successor publishes it.
/// </summary>
public sealed unsafe class PackedCrashRecoveryTests : IDisposable
{
    private const int Size = 16;

    private readonly byte* _area = (byte*)NativeMemory.AllocZeroed((nuint)PackedInflightTracker.AreaSize(Size));

    [Fact]
    public void A_batch_cut_short_by_a_crash_completes_each_chain_once_as_its_resubmission_finishes()
    {
        using var h = QueueHarness.Create(packed: true, Size, indirect: false);
        h.Device.TrackInflight(new PackedInflightTracker(_area, Size), recover: false);
        var ids = new List<ushort>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(h.Driver.TryAdd([new(h.DataBase + ((ulong)i * 512), 512, true)], false, out var id));
            ids.Add(id);
        }

        h.Driver.PublishAvail();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(h.Device.TryPop(out var chain));
            h.Device.AddUsed(chain.Head, 512);
        }

        // The back end dies here, before PublishUsed. Its successor, on the same ring and area:
        Assert.Equal(QueueError.None, PackedQueue.TryCreate(h.Memory, h.Config, QueuePosition.Initial, out var next));
        Assert.Equal(3, next!.TrackInflight(new PackedInflightTracker(_area, Size), recover: true));

        Assert.True(next.TryPop(out var first));
        next.AddUsed(first.Head, 512);
        next.PublishUsed();
        Assert.Equal([ids[0]], h.TakeUsedIds());

        for (var i = 1; i < 3; i++)
        {
            Assert.True(next.TryPop(out var chain));
            next.AddUsed(chain.Head, 512);
        }

        next.PublishUsed();
        Assert.Equal(ids[1..], h.TakeUsedIds());
        Assert.Equal(QueueError.None, h.Driver.Fault);
    }

    public void Dispose() => NativeMemory.Free(_area);
}
