using IoVirt.Memory;

namespace IoVirt.Tests.Memory;

public class SnapshotTests
{
    private const ulong Base = 0x10_0000;
    private const ulong Size = 0x2000;
    private const ulong Added = 0x20_0000;

    [Fact]
    public void WithRegion_makes_a_new_snapshot_and_leaves_the_old_one_as_it_was()
    {
        var kept = GuestRegion.CreateMemfd(Base, Size);
        var added = GuestRegion.CreateMemfd(Added, Size);
        var old = new GuestMemory(kept);
        Assert.Equal(MemoryFault.None, old.Write(Base, 17UL));

        var next = old.WithRegion(added);

        Assert.Equal(MemoryFault.OutOfRange, old.CheckRange(Added, 1));
        Assert.Equal(MemoryFault.None, next.CheckRange(Added, 1));
        Assert.Equal(MemoryFault.None, next.Read(Base, out ulong seen));
        Assert.Equal(17UL, seen);

        // The shared region lives until both snapshots are released; the added one with the new snapshot.
        next.Dispose();
        Assert.False(kept.File!.IsClosed);
        Assert.True(added.File!.IsClosed);
        Assert.Equal(MemoryFault.None, old.Read(Base, out seen));
        Assert.Equal(17UL, seen);
        old.Dispose();
        Assert.True(kept.File.IsClosed);
    }

    [Fact]
    public void WithoutRegion_makes_a_new_snapshot_and_the_removed_region_lives_as_long_as_the_old_one()
    {
        var kept = GuestRegion.CreateMemfd(Base, Size);
        var removed = GuestRegion.CreateMemfd(Added, Size);
        var old = new GuestMemory(kept, removed);

        var next = old.WithoutRegion(Added, Size);

        Assert.Equal(MemoryFault.OutOfRange, next.CheckRange(Added, 1));
        Assert.Equal(MemoryFault.None, old.CheckRange(Added, Size));
        Assert.Equal(1, next.Regions.Length);

        old.Dispose();
        Assert.True(removed.File!.IsClosed);
        Assert.False(kept.File!.IsClosed);
        Assert.Equal(MemoryFault.None, next.Write(Base + Size - 1, [1]));
        next.Dispose();
        Assert.True(kept.File.IsClosed);
    }

    [Theory]
    [InlineData(Added + 1, Size)]
    [InlineData(Added, Size - 1)]
    [InlineData(Base + 0x8000, Size)]
    public void WithoutRegion_names_a_region_by_its_exact_address_and_size(ulong address, ulong size)
    {
        using var memory = new GuestMemory(GuestRegion.Allocate(Base, Size), GuestRegion.Allocate(Added, Size));

        Assert.Throws<ArgumentException>(() => memory.WithoutRegion(address, size));
    }

    [Fact]
    public void WithRegion_refuses_a_region_overlapping_the_map()
    {
        using var memory = new GuestMemory(GuestRegion.Allocate(Base, Size));

        Assert.Throws<ArgumentException>(() => memory.WithRegion(GuestRegion.Allocate(Base + Size - 1, Size)));
        Assert.Equal(1, memory.Regions.Length);
    }

    [Fact]
    public void A_snapshot_released_more_often_than_referenced_throws()
    {
        var memory = new GuestMemory(GuestRegion.Allocate(Base, Size));
        memory.Dispose();

        Assert.Throws<ObjectDisposedException>(memory.Dispose);
    }
}
