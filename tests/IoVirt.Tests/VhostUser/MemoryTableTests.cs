using FsCheck;
using FsCheck.Fluent;
using IoVirt.Abi.VhostUser;
using IoVirt.Memory;
using IoVirt.VhostUser;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Tests.VhostUser;

/// <summary>The memory table on its own, without a socket: regions come from memfds made here.</summary>
public sealed class MemoryTableTests : IDisposable
{
    private const ulong SlotSize = 1 << 16;

    /// <summary>Four distinct regions, each in a memfd of its own, at guest 1 MiB apart.</summary>
    private readonly GuestRegion[] _backing = [.. Enumerable.Range(0, 4).Select(i => GuestRegion.CreateMemfd((ulong)i << 20, SlotSize, $"table-{i}"))];

    private int _changes;

    [Fact]
    public void A_table_maps_every_region_and_announces_the_new_map()
    {
        using var table = new MemoryTable(() => _changes++);
        Assert.Null(table.Memory);

        table.Replace([Describe(0), Describe(1)], [File(0), File(1)]);

        Assert.Equal(1, _changes);
        Assert.Equal([0UL, 1UL << 20], Mapped(table));
        WriteThrough(table, 1);
    }

    [Fact]
    public void A_region_added_twice_stays_mapped_until_it_is_removed_twice()
    {
        using var table = new MemoryTable(() => _changes++);
        table.Replace([Describe(0)], [File(0)]);

        table.Add(Describe(1), File(1));
        table.Add(Describe(1), File(1));
        table.Remove(Describe(1));
        Assert.Equal([0UL, 1UL << 20], Mapped(table));

        table.Remove(Describe(1));
        Assert.Equal([0UL], Mapped(table));
    }

    [Fact]
    public void Removing_a_region_never_added_is_refused_and_changes_nothing()
    {
        using var table = new MemoryTable(() => _changes++);
        table.Replace([Describe(0)], [File(0)]);
        var before = _changes;

        Assert.Throws<VhostUserProtocolException>(() => table.Remove(Describe(2)));

        Assert.Equal(before, _changes);
        Assert.Equal([0UL], Mapped(table));
    }

    [Fact]
    public void Removing_from_no_table_is_refused()
    {
        using var table = new MemoryTable(() => _changes++);
        Assert.Throws<VhostUserProtocolException>(() => table.Remove(Describe(0)));
    }

    [Fact]
    public void A_region_that_wraps_around_is_refused_and_the_old_map_stays()
    {
        using var table = new MemoryTable(() => _changes++);
        table.Replace([Describe(0)], [File(0)]);
        var wrapping = Describe(1) with { GuestPhysAddr = ulong.MaxValue - 0xfff };

        Assert.Throws<VhostUserProtocolException>(() => table.Replace([Describe(1), wrapping], [File(1), File(2)]));
        Assert.Throws<VhostUserProtocolException>(() => table.Add(wrapping, File(1)));

        Assert.Equal([0UL], Mapped(table));
    }

    [Fact]
    public void A_table_needs_one_descriptor_per_region()
    {
        using var table = new MemoryTable(() => _changes++);
        Assert.Throws<VhostUserProtocolException>(() => table.Replace([Describe(0), Describe(1)], [File(0)]));
        Assert.Throws<VhostUserProtocolException>(() => table.Replace([], []));
        Assert.Null(table.Memory);
    }

    [Fact]
    public void More_regions_than_slots_are_refused()
    {
        using var table = new MemoryTable(() => _changes++);
        using var small = GuestRegion.CreateMemfd(0, 4096, "slots");
        for (var i = 0; i < MemoryTable.MaxSlots; i++)
        {
            table.Add(new VhostUserMemoryRegion { GuestPhysAddr = (ulong)i << 12, MemorySize = 4096, UserspaceAddr = 0x10_0000_0000 + ((ulong)i << 12) }, small.File!);
        }

        var oneTooMany = new VhostUserMemoryRegion { GuestPhysAddr = 1UL << 32, MemorySize = 4096, UserspaceAddr = 0x20_0000_0000 };
        Assert.Throws<VhostUserProtocolException>(() => table.Add(oneTooMany, small.File!));
    }

    [Fact]
    public void Writes_are_logged_only_while_log_all_is_on_and_a_log_is_set()
    {
        using var table = new MemoryTable(() => _changes++);
        using var log = GuestRegion.CreateMemfd(0, 4096, "log");
        table.Replace([Describe(0)], [File(0)]);

        table.LogAll = true;
        Assert.False(table.IsLogging);
        table.SetDirtyLog(new VhostUserLog { MmapSize = 4096, MmapOffset = 0 }, log.File!);
        Assert.True(table.IsLogging);

        WriteThrough(table, 0, offset: 3 * 4096);
        Assert.Equal(1 << 3, ReadLogByte(log));

        table.LogAll = false;
        Assert.False(table.IsLogging);
        WriteThrough(table, 0, offset: 5 * 4096);
        Assert.Equal(1 << 3, ReadLogByte(log));
    }

    [Fact]
    public void An_empty_dirty_log_is_refused()
    {
        using var table = new MemoryTable(() => _changes++);
        using var log = GuestRegion.CreateMemfd(0, 4096, "log");
        Assert.Throws<VhostUserProtocolException>(() => table.SetDirtyLog(default, log.File!));
    }

    [Fact]
    public void Any_sequence_of_adds_and_removes_maps_exactly_the_regions_with_adds_outstanding()
    {
        var operations = Gen.ArrayOf(Gen.Choose(0, 3).Zip(Gen.Elements(true, false), (slot, add) => (Slot: slot, Add: add))).ToArbitrary();
        var property = Prop.ForAll(operations, steps =>
        {
            using var table = new MemoryTable(() => { });
            var outstanding = new int[_backing.Length];
            foreach (var (slot, add) in steps)
            {
                if (add)
                {
                    table.Add(Describe(slot), File(slot));
                    outstanding[slot]++;
                }
                else if (outstanding[slot] > 0)
                {
                    table.Remove(Describe(slot));
                    outstanding[slot]--;
                }
                else
                {
                    Assert.Throws<VhostUserProtocolException>(() => table.Remove(Describe(slot)));
                }
            }

            var expected = Enumerable.Range(0, _backing.Length).Where(s => outstanding[s] > 0).Select(s => (ulong)s << 20);
            Assert.Equal(expected, table.Memory is null ? [] : Mapped(table));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }

    private static VhostUserMemoryRegion Describe(int slot) =>
        new() { GuestPhysAddr = (ulong)slot << 20, MemorySize = SlotSize, UserspaceAddr = 0x7f00_0000_0000 + ((ulong)slot << 20), MmapOffset = 0 };

    private SafeFileHandle File(int slot) => _backing[slot].File!;

    private static ulong[] Mapped(MemoryTable table)
    {
        using var lease = table.Memory!.Acquire();
        return [.. lease.Memory.Regions.ToArray().Select(r => r.GuestAddress).Order()];
    }

    /// <summary>Writes through the table's map and reads the byte back through the region's own mapping of the same memfd.</summary>
    private unsafe void WriteThrough(MemoryTable table, int slot, ulong offset = 8)
    {
        using (var lease = table.Memory!.Acquire())
        {
            Assert.Equal(MemoryFault.None, lease.Memory.Write(((ulong)slot << 20) + offset, (byte)(0x40 + slot)));
        }

        Assert.Equal((byte)(0x40 + slot), _backing[slot].Host[offset]);
    }

    private static unsafe byte ReadLogByte(GuestRegion log) => Volatile.Read(ref log.Host[0]);

    public void Dispose()
    {
        foreach (var region in _backing)
        {
            region.Dispose();
        }
    }
}
