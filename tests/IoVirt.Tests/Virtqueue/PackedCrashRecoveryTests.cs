using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Packed;

namespace IoVirt.Tests.Virtqueue;

/// <summary>
/// A packed ring whose back end died while it was completing a batch: before the batch reached
/// the driver, or after it did but before the inflight area said so. The successor recovers from
/// the area; the driver must see each completion exactly once.
/// </summary>
public sealed unsafe class PackedCrashRecoveryTests : IDisposable
{
    private const int Size = 16;

    private readonly byte* _area = (byte*)NativeMemory.AllocZeroed((nuint)PackedInflightTracker.AreaSize(Size));

    /// <summary>
    /// A live migration's destination starts the ring where the source stopped (SET_VRING_BASE)
    /// with a new inflight area: the area records nothing, so the ring goes on from that base
    /// instead of from the area's first positions (it restarted at slot 0, and the guest hung).
    /// </summary>
    [Fact]
    public void A_ring_started_with_a_new_area_goes_on_from_its_base()
    {
        using var h = QueueHarness.Create(packed: true, Size, indirect: false);
        for (var i = 0; i < Size + 5; i++)
        {
            Assert.True(h.Driver.TryAdd([new(h.DataBase, 512, true)], false, out _));
            h.Driver.PublishAvail();
            Assert.True(h.Device.TryPop(out var chain));
            h.Device.AddUsed(chain.Head, 512);
            h.Device.PublishUsed();
            Assert.Single(h.TakeUsedIds());
        }

        var stoppedAt = h.Device.Position;
        Assert.Equal(QueueError.None, PackedQueue.TryCreate(h.Memory, h.Config, stoppedAt, out var destination));
        Assert.Equal(0, destination!.TrackInflight(new PackedInflightTracker(_area, Size), recover: true));
        Assert.Equal(stoppedAt, destination.Position);

        Assert.True(h.Driver.TryAdd([new(h.DataBase, 512, true)], false, out var id));
        h.Driver.PublishAvail();
        Assert.True(destination.TryPop(out var next));
        destination.AddUsed(next.Head, 512);
        destination.PublishUsed();
        Assert.Equal([id], h.TakeUsedIds());

        // A successor of the destination recovers from the area, which now records the ring.
        Assert.Equal(QueueError.None, PackedQueue.TryCreate(h.Memory, h.Config, QueuePosition.Initial, out var successor));
        Assert.Equal(0, successor!.TrackInflight(new PackedInflightTracker(_area, Size), recover: true));
        Assert.Equal(destination.Position, successor.Position);
    }

    /// <summary>
    /// Died before publishing: the batch's later elements were already marked used (its first is
    /// published last, so the driver sees the batch at once). The successor resubmits every chain,
    /// and each completes when its resubmission does.
    /// </summary>
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

    /// <summary>
    /// Died after the batch's first element reached the driver and the area's header took the new
    /// used position, but before the batch's entries were freed: nothing is resubmitted.
    /// </summary>
    [Fact]
    public void A_batch_published_before_its_entries_were_freed_is_not_resubmitted()
    {
        using var h = QueueHarness.Create(packed: true, Size, indirect: false);
        h.Device.TrackInflight(new PackedInflightTracker(_area, Size), recover: false);
        var ids = CompleteUnpublished(h, 3);
        var entriesBeforePublish = Snapshot();

        h.Device.PublishUsed();
        Assert.Equal(ids, h.TakeUsedIds());
        entriesBeforePublish.AsSpan(PackedInflightTracker.HeaderSize).CopyTo(Area[PackedInflightTracker.HeaderSize..]);

        var next = Successor(h, expectedResubmissions: 0);
        AssertServesOneMore(h, next);
    }

    /// <summary>
    /// Died after publishing, before the area's header said so; meanwhile the driver took the batch
    /// and made the whole ring available again, the batch's first slot too (which flips its AVAIL
    /// flag). The batch was published all the same: nothing is resubmitted.
    /// </summary>
    [Fact]
    public void A_published_batch_is_not_resubmitted_after_the_driver_reused_its_slots()
    {
        using var h = QueueHarness.Create(packed: true, Size, indirect: false);
        PublishBatchAndLoseItsRecord(h);
        var refill = new List<ushort>();
        for (var i = 0; i < Size; i++)
        {
            Assert.True(h.Driver.TryAdd([new(h.DataBase + ((ulong)i * 512), 512, true)], false, out var id));
            refill.Add(id);
        }

        h.Driver.PublishAvail();

        var next = Successor(h, expectedResubmissions: 0);
        for (var i = 0; i < Size; i++)
        {
            Assert.True(next.TryPop(out var chain));
            next.AddUsed(chain.Head, 512);
        }

        next.PublishUsed();
        Assert.Equal(refill, h.TakeUsedIds());
        Assert.Equal(QueueError.None, h.Driver.Fault);
    }

    /// <summary>
    /// Out of order: the second chain completes first, so its used element overwrites the first
    /// chain's ring slot, and the driver makes that slot available again for a new chain while
    /// the first is still in flight. After a crash each chain is resubmitted with its own buffers.
    /// </summary>
    [Fact]
    public void A_chain_whose_slot_the_driver_reused_is_resubmitted_with_its_own_buffers()
    {
        using var h = QueueHarness.Create(packed: true, 4, indirect: false);
        h.Device.TrackInflight(new PackedInflightTracker(_area, 4), recover: false);
        var popped = AddAndPop(h, 4);
        var buffers = popped.Select((head, i) => (head.Id, Address: h.DataBase + ((ulong)i * 512))).ToDictionary(b => b.Id, b => b.Address);

        h.Device.AddUsed(popped[1], 512);
        h.Device.PublishUsed();
        Assert.Equal([popped[1].Id], h.TakeUsedIds());
        buffers.Remove(popped[1].Id);
        Assert.True(h.Driver.TryAdd([new(h.DataBase + (9 * 512), 512, true)], false, out var reused));
        buffers[reused] = h.DataBase + (9 * 512);
        h.Driver.PublishAvail();
        Assert.True(h.Device.TryPop(out _));

        // The back end dies with four chains in flight, one of them in the first chain's old slot.
        Assert.Equal(QueueError.None, PackedQueue.TryCreate(h.Memory, h.Config, QueuePosition.Initial, out var next));
        Assert.Equal(4, next!.TrackInflight(new PackedInflightTracker(_area, 4), recover: true));
        var resubmitted = new List<ushort>();
        for (var i = 0; i < 4; i++)
        {
            Assert.True(next.TryPop(out var chain));
            Assert.True(chain.TryGetNext(out var buffer));
            Assert.Equal(buffers[chain.Head.Id], buffer.GuestAddress);
            next.AddUsed(chain.Head, 512);
            resubmitted.Add(chain.Head.Id);
        }

        Assert.Equal([popped[0].Id, popped[2].Id, popped[3].Id, reused], resubmitted);
        next.PublishUsed();
        Assert.Equal(resubmitted, h.TakeUsedIds());
        Assert.Equal(QueueError.None, h.Driver.Fault);
    }

    /// <summary>
    /// A driver that makes a slot available again although the device still holds the chain
    /// popped from it (no used element gave it back) would have more descriptors outstanding than
    /// the ring holds: the queue stops with a fault rather than lose track of a chain.
    /// </summary>
    [Fact]
    public void A_driver_that_reuses_a_slot_it_was_not_given_back_stops_the_queue()
    {
        using var h = QueueHarness.Create(packed: true, 4, indirect: false);
        h.Device.TrackInflight(new PackedInflightTracker(_area, 4), recover: false);
        AddAndPop(h, 4);

        // Slot 0 made available on the second lap (AVAIL clear, USED set) with nothing given back.
        Assert.Equal(MemoryFault.None, h.Memory.TryGetPointer(h.Config.DescriptorTable, PackedDesc.Size, out var slot0));
        *(ushort*)(slot0 + PackedDesc.FlagsOffset) = LittleEndian.FromHost((ushort)PackedDescFlags.Used);

        Assert.False(h.Device.TryPop(out _));
        Assert.Equal(QueueError.OutstandingExceedsRing, h.Device.Fault);
    }

    /// <summary>
    /// Died popping a chain: its entry was written, the header's record of the pop was not. The
    /// ring still offers that chain, so the successor takes it from the ring and does not resubmit
    /// it as well (it did both once, and the driver saw the chain complete twice).
    /// </summary>
    [Fact]
    public void A_chain_whose_pop_the_header_does_not_record_is_taken_from_the_ring_once()
    {
        using var h = QueueHarness.Create(packed: true, Size, indirect: false);
        h.Device.TrackInflight(new PackedInflightTracker(_area, Size), recover: false);
        var ids = AddAndPop(h, 1).Select(head => head.Id).ToList();
        var headerBefore = Snapshot()[..PackedInflightTracker.HeaderSize];
        Assert.True(h.Driver.TryAdd([new(h.DataBase + 512, 512, true)], false, out var last));
        h.Driver.PublishAvail();
        Assert.True(h.Device.TryPop(out _));
        ids.Add(last);
        headerBefore.CopyTo(Area);

        AssertEachCompletesOnce(h, Successor(h, expectedResubmissions: 1), ids);
    }

    /// <summary>
    /// Died putting a chain back (the device could not take it now): the header went back to it,
    /// the entry was not freed yet. The chain is the ring's again, taken from there once.
    /// </summary>
    [Fact]
    public void A_chain_put_back_by_a_back_end_that_died_doing_so_is_taken_from_the_ring_once()
    {
        using var h = QueueHarness.Create(packed: true, Size, indirect: false);
        h.Device.TrackInflight(new PackedInflightTracker(_area, Size), recover: false);
        var ids = AddAndPop(h, 2).Select(head => head.Id).ToList();
        var entriesBefore = Snapshot();
        h.Device.UndoLastPop();
        entriesBefore.AsSpan(PackedInflightTracker.HeaderSize).CopyTo(Area[PackedInflightTracker.HeaderSize..]);

        AssertEachCompletesOnce(h, Successor(h, expectedResubmissions: 1), ids);
    }

    /// <summary>
    /// A successor dies recovering, after it recorded the used position past a batch that had
    /// reached the driver and before it freed the batch's entries. Its own successor comes to the
    /// same outcome: nothing resubmitted, the ring goes on.
    /// </summary>
    [Fact]
    public void A_recovery_cut_short_recovers_again_to_the_same_outcome()
    {
        using var h = QueueHarness.Create(packed: true, Size, indirect: false);
        var areaBeforePublish = PublishBatchAndLoseItsRecord(h);

        Successor(h, expectedResubmissions: 0);
        areaBeforePublish.AsSpan(PackedInflightTracker.HeaderSize).CopyTo(Area[PackedInflightTracker.HeaderSize..]);

        AssertServesOneMore(h, Successor(h, expectedResubmissions: 0));
    }

    /// <summary>
    /// Completes a batch of three and publishes it, the driver takes it, then the area is put back
    /// as before the publication (the back end died publishing); returns that area.
    /// </summary>
    private byte[] PublishBatchAndLoseItsRecord(QueueHarness h)
    {
        h.Device.TrackInflight(new PackedInflightTracker(_area, Size), recover: false);
        var ids = CompleteUnpublished(h, 3);
        var areaBeforePublish = Snapshot();
        h.Device.PublishUsed();
        Assert.Equal(ids, h.TakeUsedIds());
        areaBeforePublish.CopyTo(Area);
        return areaBeforePublish;
    }

    /// <summary>Runs <paramref name="next"/> until each of <paramref name="ids"/> came back to the driver, each once, then one more.</summary>
    private static void AssertEachCompletesOnce(QueueHarness h, DeviceQueue next, List<ushort> ids)
    {
        while (next.TryPop(out var chain))
        {
            next.AddUsed(chain.Head, 512);
        }

        next.PublishUsed();
        Assert.Equal(ids, h.TakeUsedIds());
        Assert.Equal(QueueError.None, h.Driver.Fault);
        AssertServesOneMore(h, next);
    }

    private Span<byte> Area => new(_area, PackedInflightTracker.AreaSize(Size));

    private byte[] Snapshot() => Area.ToArray();

    /// <summary>Makes <paramref name="count"/> chains available, pops them and completes them without publishing.</summary>
    private static List<ushort> CompleteUnpublished(QueueHarness h, int count)
    {
        var popped = AddAndPop(h, count);
        foreach (var head in popped)
        {
            h.Device.AddUsed(head, 512);
        }

        return [.. popped.Select(head => head.Id)];
    }

    /// <summary>Makes <paramref name="count"/> chains of one 512-byte buffer available (chain i at data offset i * 512) and pops them.</summary>
    private static List<ChainHead> AddAndPop(QueueHarness h, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(h.Driver.TryAdd([new(h.DataBase + ((ulong)i * 512), 512, true)], false, out _));
        }

        h.Driver.PublishAvail();
        var popped = new List<ChainHead>();
        for (var i = 0; i < count; i++)
        {
            Assert.True(h.Device.TryPop(out var chain));
            popped.Add(chain.Head);
        }

        return popped;
    }

    /// <summary>A new device queue on the same ring, recovering from the same area.</summary>
    private DeviceQueue Successor(QueueHarness h, int expectedResubmissions)
    {
        Assert.Equal(QueueError.None, PackedQueue.TryCreate(h.Memory, h.Config, QueuePosition.Initial, out var next));
        Assert.Equal(expectedResubmissions, next!.TrackInflight(new PackedInflightTracker(_area, Size), recover: true));
        return next;
    }

    private static void AssertServesOneMore(QueueHarness h, DeviceQueue next)
    {
        Assert.True(h.Driver.TryAdd([new(h.DataBase, 512, true)], false, out var id));
        h.Driver.PublishAvail();
        Assert.True(next.TryPop(out var chain));
        Assert.Equal(id, chain.Head.Id);
        next.AddUsed(chain.Head, 512);
        next.PublishUsed();
        Assert.Equal([id], h.TakeUsedIds());
        Assert.Equal(QueueError.None, h.Driver.Fault);
    }

    public void Dispose() => NativeMemory.Free(_area);
}
