using IoVirt.Memory;

namespace IoVirt.Tests.Memory;

public class AtomicGuestMemoryTests
{
    private const ulong Base = 0x10_0000;
    private const ulong Size = 0x1000;

    private static GuestMemory Marked(GuestRegion region, ulong marker)
    {
        var memory = new GuestMemory(region);
        Assert.Equal(MemoryFault.None, memory.Write(region.GuestAddress, marker));
        return memory;
    }

    [Fact]
    public void Each_swap_increments_the_generation_and_leases_record_theirs()
    {
        using var current = new AtomicGuestMemory(Marked(GuestRegion.Allocate(Base, Size), 0));
        Assert.Equal(0, current.Generation);

        for (var i = 1UL; i <= 3; i++)
        {
            current.Swap(Marked(GuestRegion.Allocate(Base, Size), i));
            Assert.Equal((long)i, current.Generation);
            using var lease = current.Acquire();
            Assert.Equal((long)i, lease.Generation);
            Assert.Equal(MemoryFault.None, lease.Memory.Read(Base, out ulong marker));
            Assert.Equal(i, marker);
        }
    }

    [Fact]
    public void A_lease_taken_before_a_swap_keeps_the_old_snapshot_mapped_until_it_ends()
    {
        var oldRegion = GuestRegion.CreateMemfd(Base, Size);
        using var current = new AtomicGuestMemory(Marked(oldRegion, 0x01d));
        var lease = current.Acquire();

        current.Swap(Marked(GuestRegion.CreateMemfd(Base, Size), 0x2e3));

        Assert.False(oldRegion.File!.IsClosed);
        Assert.Equal(MemoryFault.None, lease.Memory.Read(Base, out ulong marker));
        Assert.Equal(0x01dUL, marker);
        Assert.Equal(MemoryFault.None, lease.Memory.Write(Base + 8, 5UL));
        using (var fresh = current.Acquire())
        {
            Assert.Equal(MemoryFault.None, fresh.Memory.Read(Base, out marker));
            Assert.Equal(0x2e3UL, marker);
            Assert.True(lease.Generation < fresh.Generation);
        }

        lease.Dispose();
        Assert.True(oldRegion.File.IsClosed);
    }

    [Fact]
    public void The_old_snapshot_is_released_when_the_last_of_several_leases_ends()
    {
        var oldRegion = GuestRegion.CreateMemfd(Base, Size);
        using var current = new AtomicGuestMemory(new GuestMemory(oldRegion));
        var first = current.Acquire();
        var second = current.Acquire();
        current.Swap(new GuestMemory(GuestRegion.Allocate(Base, Size)));

        first.Dispose();
        Assert.False(oldRegion.File!.IsClosed);
        Assert.Equal(MemoryFault.None, second.Memory.CheckRange(Base, Size));

        second.Dispose();
        Assert.True(oldRegion.File.IsClosed);
    }

    [Fact]
    public void Without_leases_a_swap_releases_the_old_snapshot_at_once()
    {
        var oldRegion = GuestRegion.CreateMemfd(Base, Size);
        using var current = new AtomicGuestMemory(new GuestMemory(oldRegion));

        current.Swap(new GuestMemory(GuestRegion.Allocate(Base, Size)));

        Assert.True(oldRegion.File!.IsClosed);
    }

    [Fact]
    public void Disposing_the_holder_releases_the_current_snapshot()
    {
        var region = GuestRegion.CreateMemfd(Base, Size);
        var current = new AtomicGuestMemory(new GuestMemory(region));

        current.Dispose();

        Assert.True(region.File!.IsClosed);
    }

    [Fact]
    public void Update_publishes_a_changed_map_that_shares_the_unchanged_regions()
    {
        var kept = GuestRegion.CreateMemfd(Base, Size);
        using var current = new AtomicGuestMemory(Marked(kept, 42));

        current.Update(m => m.WithRegion(GuestRegion.Allocate(Base + 0x10_0000, Size)));

        Assert.Equal(1, current.Generation);
        Assert.False(kept.File!.IsClosed);
        using var lease = current.Acquire();
        Assert.Equal(2, lease.Memory.Regions.Length);
        Assert.Equal(MemoryFault.None, lease.Memory.Read(Base, out ulong marker));
        Assert.Equal(42UL, marker);
    }

    [Fact]
    public void Concurrent_swaps_and_leases_never_expose_a_released_snapshot()
    {
        // Shared mappings are unmapped on release, so a read through a released snapshot faults
        // instead of quietly finding the old bytes.
        const int swaps = 10_000;
        using var current = new AtomicGuestMemory(Marked(GuestRegion.CreateAnonymousShared(Base, Size), 0));
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var done = 0;
        var reads = 0L;

        var swapper = new Thread(() =>
        {
            try
            {
                for (var i = 1UL; i <= swaps; i++)
                {
                    current.Swap(Marked(GuestRegion.CreateAnonymousShared(Base, Size), i));
                }
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
            finally
            {
                Volatile.Write(ref done, 1);
            }
        });

        var reader = new Thread(() =>
        {
            try
            {
                var lastMarker = 0UL;
                var lastGeneration = 0L;
                while (Volatile.Read(ref done) == 0 || reads == 0)
                {
                    using var lease = current.Acquire();
                    Assert.Equal(MemoryFault.None, lease.Memory.Read(Base, out ulong marker));
                    // Snapshots are published in marker order, and a snapshot is never older than
                    // the generation its lease reports.
                    Assert.InRange(marker, lastMarker, (ulong)swaps);
                    Assert.InRange(lease.Generation, lastGeneration, (long)marker);
                    Assert.Equal(MemoryFault.None, lease.Memory.Read(Base, out ulong again));
                    Assert.Equal(marker, again);
                    lastMarker = marker;
                    lastGeneration = lease.Generation;
                    reads++;
                }
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        });

        reader.Start();
        swapper.Start();
        swapper.Join();
        reader.Join();

        Assert.Empty(errors);
        Assert.Equal(swaps, current.Generation);
        Assert.True(reads > 0);
        using var last = current.Acquire();
        Assert.Equal(MemoryFault.None, last.Memory.Read(Base, out ulong final));
        Assert.Equal((ulong)swaps, final);
    }
}
