using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Tests.Virtqueue;

public unsafe class CrossRegionBufferTests
{
    private const ulong Base = 0x10_0000;
    private const ulong RegionSize = 0x1_0000;
    private const ulong Boundary = Base + RegionSize;
    private const ulong IndirectArea = Base + 0x4000;
    private const int Size = 8;

    /// <summary>A queue whose rings sit in the first of two guest regions; the second follows it directly or after a gap.</summary>
    private sealed class TwoRegions : IDisposable
    {
        public TwoRegions(bool packed, ulong gap = 0)
        {
            Memory = new GuestMemory(GuestRegion.Allocate(Base, RegionSize), GuestRegion.Allocate(Boundary + gap, RegionSize));
            Config = packed ? RingLayout.Packed(Base, Size, indirect: true) : RingLayout.Split(Base, Size, indirect: true);
            if (packed)
            {
                Assert.Equal(QueueError.None, PackedQueue.TryCreate(Memory, Config, QueuePosition.Initial, out var q));
                Device = q!;
                Driver = new PackedDriverQueue(Memory, Config, IndirectArea, 4);
            }
            else
            {
                Assert.Equal(QueueError.None, SplitQueue.TryCreate(Memory, Config, QueuePosition.Initial, out var q));
                Device = q!;
                Driver = new SplitDriverQueue(Memory, Config, IndirectArea, 4);
            }
        }

        public GuestMemory Memory { get; }

        public QueueConfig Config { get; }

        public DeviceQueue Device { get; }

        public DriverQueue Driver { get; }

        public void Add(bool indirect, params DriverBuffer[] buffers)
        {
            Assert.True(Driver.TryAdd(buffers, indirect, out _));
            Driver.PublishAvail();
        }

        public void Dispose() => Memory.Dispose();
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void A_buffer_spanning_two_adjacent_regions_is_accepted_and_scattered_in_two_segments(bool packed, bool indirect)
    {
        using var q = new TwoRegions(packed);
        var start = Boundary - 0x1000;
        q.Add(indirect, new DriverBuffer(start, 0x3000, true));

        Assert.True(q.Device.TryPop(out var chain));
        Assert.True(chain.TryGetNext(out var buffer));
        Assert.False(chain.TryGetNext(out _));
        Assert.Equal(QueueError.None, chain.Error);

        Assert.False(buffer.IsContiguous);
        Assert.True(buffer.Host == null);
        Assert.Equal(0x3000u, buffer.Length);
        Assert.Equal(0x3000u, chain.WritableBytes);
        Assert.Throws<InvalidOperationException>(() => buffer.Span.Length);

        Span<HostSegment> segments = stackalloc HostSegment[4];
        var count = q.Memory.Scatter(buffer.GuestAddress, buffer.Length, segments, out var fault);
        Assert.Equal(MemoryFault.None, fault);
        Assert.Equal(2, count);
        var first = q.Memory.Regions[0];
        var second = q.Memory.Regions[1];
        Assert.True(segments[0].Pointer == first.Host + (start - Base));
        Assert.Equal(0x1000, segments[0].Length);
        Assert.True(segments[1].Pointer == second.Host);
        Assert.Equal(0x2000, segments[1].Length);

        // Bytes written through the segments read back as one guest range.
        segments[0].Span.Fill(0xa1);
        segments[1].Span.Fill(0xb2);
        var back = new byte[0x3000];
        Assert.Equal(MemoryFault.None, q.Memory.Read(start, back));
        Assert.All(back.AsSpan(0, 0x1000).ToArray(), b => Assert.Equal(0xa1, b));
        Assert.All(back.AsSpan(0x1000).ToArray(), b => Assert.Equal(0xb2, b));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_buffer_reaching_into_a_gap_between_regions_stops_the_queue(bool packed)
    {
        using var q = new TwoRegions(packed, gap: 0x1000);
        q.Add(false, new DriverBuffer(Boundary - 0x100, 0x200, false));

        Assert.True(q.Device.TryPop(out var chain));
        Assert.False(chain.TryGetNext(out _));

        Assert.Equal(QueueError.BufferOutsideMemory, chain.Error);
        Assert.Equal(QueueError.BufferOutsideMemory, q.Device.Fault);
        q.Add(false, new DriverBuffer(Base + 0x8000, 16, false));
        Assert.False(q.Device.TryPop(out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_indirect_table_spanning_two_regions_stops_the_queue(bool packed)
    {
        using var q = new TwoRegions(packed);
        var table = Boundary - VirtqDesc.Size;
        // Two valid entries, one on each side of the boundary.
        for (var i = 0; i < 2; i++)
        {
            var entry = table + ((ulong)i * VirtqDesc.Size);
            if (packed)
            {
                GuestRing.PackedDescriptor(q.Memory, entry, 0, Base + 0x8000, 16, 0, PackedDescFlags.None);
            }
            else
            {
                GuestRing.SplitDescriptor(q.Memory, entry, 0, Base + 0x8000, 16, i == 0 ? VirtqDescFlags.Next : VirtqDescFlags.None, next: 1);
            }
        }

        // A valid direct chain, then turned into an indirect one before the device looks.
        q.Add(false, new DriverBuffer(Base + 0x8000, 16, false));
        if (packed)
        {
            GuestRing.PackedDescriptor(q.Memory, q.Config.DescriptorTable, 0, table, 2 * VirtqDesc.Size, 0, PackedDescFlags.Indirect | PackedDescFlags.Avail);
        }
        else
        {
            GuestRing.SplitDescriptor(q.Memory, q.Config.DescriptorTable, 0, table, 2 * VirtqDesc.Size, VirtqDescFlags.Indirect);
        }

        Assert.True(q.Device.TryPop(out var chain));
        Assert.False(chain.TryGetNext(out _));

        Assert.Equal(QueueError.IndirectTableOutsideMemory, chain.Error);
        Assert.Equal(QueueError.IndirectTableOutsideMemory, q.Device.Fault);
        Assert.False(q.Device.TryPop(out _));
    }
}
