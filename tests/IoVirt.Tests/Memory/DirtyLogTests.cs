using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Tests.Memory;

public unsafe class DirtyLogTests
{
    private const ulong Base = 0x10_0000;
    private const ulong Page = DirtyBitmap.PageSize;
    private const int Pages = 16;

    private static ulong PageAt(int page) => Base + ((ulong)page * Page);

    private static int[] DirtyPages(DirtyBitmap log, ulong from, int pages) =>
        Enumerable.Range(0, pages).Where(p => log.IsDirty(from + ((ulong)p * Page))).ToArray();

    [Fact]
    public void Page_n_is_bit_n_mod_8_of_byte_n_div_8()
    {
        var bits = new byte[4];
        fixed (byte* p = bits)
        {
            using var log = new DirtyBitmap(p, 4, Base);
            log.Mark(PageAt(10), 1);
            log.Mark(PageAt(0) + 100, 1);
            log.Mark(PageAt(31) + Page - 1, 1);
        }

        Assert.Equal(new byte[] { 0x01, 0x04, 0x00, 0x80 }, bits);
    }

    [Fact]
    public void Writes_through_a_logging_snapshot_mark_exactly_the_pages_they_touch()
    {
        using var memory = new GuestMemory(GuestRegion.Allocate(Base, Pages * Page));
        using var log = DirtyBitmap.Allocate(Base, Pages * Page);
        using var logging = memory.WithDirtyLog(_ => log);
        Assert.True(logging.IsDirtyLogging);
        Assert.False(memory.IsDirtyLogging);

        Assert.Equal(MemoryFault.None, logging.Write(PageAt(2) + 5, [1]));
        Assert.Equal(MemoryFault.None, logging.Write(PageAt(5) - 1, [1, 2])); // pages 4 and 5
        Assert.Equal(MemoryFault.None, logging.Write(PageAt(9) + Page - 8, 7UL));
        Assert.Equal(MemoryFault.None, logging.Write(PageAt(11), new byte[Page])); // exactly one page
        logging.MarkDirty(PageAt(14) + 1, 1);
        Assert.Equal(MemoryFault.None, memory.Write(PageAt(12), [1])); // not a logging snapshot
        Assert.Equal(MemoryFault.OutOfRange, logging.Write(PageAt(Pages) - 1, [1, 2])); // refused: nothing written

        Assert.Equal([2, 4, 5, 9, 11, 14], DirtyPages(log, Base, Pages));
        Assert.Equal(0, log.MissedPages);
    }

    [Fact]
    public void A_write_across_regions_is_logged_in_each_region_s_log()
    {
        var boundary = PageAt(4);
        using var memory = new GuestMemory(GuestRegion.Allocate(Base, 4 * Page), GuestRegion.Allocate(boundary, 4 * Page), GuestRegion.Allocate(PageAt(8), 4 * Page));
        using var first = DirtyBitmap.Allocate(Base, 4 * Page);
        using var second = DirtyBitmap.Allocate(boundary, 4 * Page);
        using var logging = memory.WithDirtyLog(r => r.GuestAddress == Base ? first : r.GuestAddress == boundary ? second : null);

        Assert.Equal(MemoryFault.None, logging.Write(boundary - 2, [1, 2, 3, 4]));
        Assert.Equal(MemoryFault.None, logging.Write(PageAt(9), [1])); // the unlogged region

        Assert.Equal([3], DirtyPages(first, Base, 4));
        Assert.Equal([0], DirtyPages(second, boundary, 4));
        Assert.False(first.IsDirty(PageAt(9)));
        Assert.False(second.IsDirty(PageAt(9)));
    }

    [Fact]
    public void Pages_past_the_end_of_the_bitmap_are_counted_as_missed()
    {
        using var memory = new GuestMemory(GuestRegion.Allocate(Base, Pages * Page));
        using var log = DirtyBitmap.Allocate(Base, 8 * Page); // one byte: pages 0 to 7
        using var logging = memory.WithDirtyLog(_ => log);

        Assert.Equal(MemoryFault.None, logging.Write(PageAt(9), [1]));
        Assert.Equal(1, log.MissedPages);

        Assert.Equal(MemoryFault.None, logging.Write(PageAt(7) + Page - 1, new byte[(2 * Page) + 2])); // pages 7 to 10
        Assert.Equal(1 + 3, log.MissedPages);
        Assert.Equal([7], DirtyPages(log, Base, Pages));
    }

    [Fact]
    public void A_bitmap_covers_a_partial_last_page()
    {
        using var log = DirtyBitmap.Allocate(Base, (8 * Page) + 1);

        Assert.Equal(2UL, log.SizeInBytes);
        log.Mark(PageAt(8), 1);
        Assert.True(log.IsDirty(PageAt(8)));
        Assert.Equal(0, log.MissedPages);
    }

    /// <summary>Runs <paramref name="before"/> chains unlogged, then one more through a logging snapshot; returns its log.</summary>
    private static DirtyBitmap LogOneCompletion(QueueHarness h, int before)
    {
        for (var i = 0; i < before; i++)
        {
            Complete(h);
        }

        var log = DirtyBitmap.Allocate(QueueHarness.RegionBase, h.RegionEnd - QueueHarness.RegionBase);
        using var logging = h.Memory.WithDirtyLog(_ => log);
        Assert.Equal(QueueError.None, h.Device.Rebind(logging));
        Complete(h);
        Assert.Equal(QueueError.None, h.Device.Rebind(h.Memory));
        return log;
    }

    private static void Complete(QueueHarness h)
    {
        Assert.True(h.Driver.TryAdd([new DriverBuffer(h.DataBase, 64, true)], indirect: false, out _));
        h.Driver.PublishAvail();
        Assert.True(h.Device.TryPop(out var chain));
        while (chain.TryGetNext(out _))
        {
        }

        h.Device.AddUsed(chain.Head, 64);
        h.Device.PublishUsed();
        Assert.True(h.Driver.TryTakeUsed(out _, out _));
    }

    private static int[] RingPages(QueueHarness h, DirtyBitmap log) =>
        DirtyPages(log, QueueHarness.RegionBase, (int)((h.DataBase - QueueHarness.RegionBase) / Page));

    [Fact]
    public void Publishing_a_split_used_element_marks_the_used_ring_pages_it_touched()
    {
        // 1024 entries: the used ring spans three pages and element 511 straddles the first boundary.
        using var h = QueueHarness.Create(packed: false, 1024, indirect: false);
        var usedPage = (int)((h.Config.DeviceArea - QueueHarness.RegionBase) / Page);
        Assert.Equal(0UL, h.Config.DeviceArea % Page);

        using (var log = LogOneCompletion(h, before: 0))
        {
            Assert.Equal([usedPage], RingPages(h, log)); // idx and element 0
        }

        using (var log = LogOneCompletion(h, before: 510))
        {
            Assert.Equal([usedPage, usedPage + 1], RingPages(h, log)); // idx, and element 511 across the boundary
        }

        using (var log = LogOneCompletion(h, before: 0))
        {
            Assert.Equal([usedPage, usedPage + 1], RingPages(h, log)); // idx, and element 512
        }

        Assert.False(h.Device.IsBroken);
    }

    [Fact]
    public void Publishing_a_packed_used_element_marks_the_ring_page_of_its_slot()
    {
        // 512 slots of 16 bytes: the descriptor ring spans two pages.
        using var h = QueueHarness.Create(packed: true, 512, indirect: false);

        using (var log = LogOneCompletion(h, before: 0))
        {
            Assert.Equal([0], RingPages(h, log));
        }

        using (var log = LogOneCompletion(h, before: 255))
        {
            Assert.Equal([1], RingPages(h, log)); // slot 256
        }

        Assert.False(h.Device.IsBroken);
    }

    [Fact]
    public void Nothing_is_logged_for_writes_the_device_did_not_make()
    {
        using var h = QueueHarness.Create(packed: false, 8);
        using var log = DirtyBitmap.Allocate(QueueHarness.RegionBase, h.RegionEnd - QueueHarness.RegionBase);
        using var logging = h.Memory.WithDirtyLog(_ => log);
        Assert.Equal(QueueError.None, h.Device.Rebind(logging));

        Assert.True(h.Driver.TryAdd([new DriverBuffer(h.DataBase, 64, false)], indirect: false, out _));
        h.Driver.PublishAvail();
        Assert.True(h.Device.TryPop(out _));

        Assert.Empty(DirtyPages(log, QueueHarness.RegionBase, (int)((h.RegionEnd - QueueHarness.RegionBase) / Page)));
    }
}
