using IoVirt.Machine;

namespace IoVirt.Tests.Machine;

public sealed class IoBusTests
{
    [Fact]
    public void Accesses_reach_the_device_at_their_offset_and_unclaimed_ones_read_all_ones()
    {
        var bus = new IoBus();
        var device = new RecordingDevice();
        bus.Add(0x3f8, 8, device);
        bus.Write(0x3fb, [0x80]);
        Assert.Equal([(3UL, (byte)0x80)], device.Writes);
        var data = new byte[2];
        bus.Read(0x3f9, data);
        Assert.Equal([0x01, 0x01], data);
        bus.Read(0x2f8, data);
        Assert.Equal([0xff, 0xff], data);
        bus.Write(0x2f8, [1]);
        Assert.Single(device.Writes);
    }

    [Fact]
    public void Overlapping_ranges_are_refused_and_removed_ones_free_their_addresses()
    {
        var bus = new IoBus();
        bus.Add(0x1000, 0x100, new RecordingDevice());
        Assert.Throws<InvalidOperationException>(() => bus.Add(0x10ff, 1, new RecordingDevice()));
        Assert.Throws<InvalidOperationException>(() => bus.Add(0xf00, 0x101, new RecordingDevice()));
        bus.Add(0x1100, 0x100, new RecordingDevice());
        bus.Remove(0x1000);
        var device = new RecordingDevice();
        bus.Add(0x1000, 0x100, device);
        bus.Write(0x1001, [7]);
        Assert.Equal([(1UL, (byte)7)], device.Writes);
    }

    [Fact]
    public void An_access_that_straddles_the_end_of_a_range_reaches_no_device()
    {
        var bus = new IoBus();
        var device = new RecordingDevice();
        bus.Add(0x100, 4, device);
        var data = new byte[4];
        bus.Read(0x102, data);
        Assert.Equal([0xff, 0xff, 0xff, 0xff], data);
        bus.Write(ulong.MaxValue - 1, [1, 2, 3, 4]);
        Assert.Empty(device.Writes);
    }

    private sealed class RecordingDevice : IBusDevice
    {
        public List<(ulong Offset, byte Value)> Writes { get; } = [];

        public void Read(ulong offset, Span<byte> data) => data.Fill((byte)offset);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => Writes.Add((offset, data[0]));
    }
}
