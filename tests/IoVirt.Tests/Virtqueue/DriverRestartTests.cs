using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Tests.Virtqueue;

/// <summary>
/// A driver that takes over rings another driver used (a front end reconnecting to the same
/// memory, a guest reloading its driver) starts them empty: the device finds nothing of the old
/// driver's to pop and the new driver finds nothing to take as used.
/// </summary>
public class DriverRestartTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_new_driver_on_used_rings_leaves_the_device_nothing_stale_to_pop(bool packed)
    {
        using var h = QueueHarness.Create(packed, 8, eventIdx: true);
        var d = h.DataBase;
        Assert.True(h.Driver.TryAdd([new(d, 16, false), new(d + 64, 8, true)], false, out _));
        Assert.True(h.Driver.TryAdd([new(d + 128, 8, true)], false, out _));
        h.Driver.PublishAvail();
        Assert.True(h.Device.TryPop(out var served));
        h.Device.AddUsed(served.Head, 8);
        h.Device.PublishUsed();

        DriverQueue next = packed ? new PackedDriverQueue(h.Memory, h.Config) : new SplitDriverQueue(h.Memory, h.Config);
        var device = NewDevice(h, packed);

        Assert.False(device.TryPop(out _), "the new device popped the old driver's chain");
        Assert.False(next.TryTakeUsed(out _, out _), "the new driver took the old driver's used entry");
        Assert.Equal(QueueError.None, next.Fault);

        // And the rings work from there.
        Assert.True(next.TryAdd([new(d, 8, true)], false, out var id));
        next.PublishAvail();
        Assert.True(device.TryPop(out var chain));
        device.AddUsed(chain.Head, 8);
        device.PublishUsed();
        Assert.True(next.TryTakeUsed(out var usedId, out var written));
        Assert.Equal(id, usedId);
        Assert.Equal(8u, written);
    }

    private static DeviceQueue NewDevice(QueueHarness h, bool packed)
    {
        if (packed)
        {
            Assert.Equal(QueueError.None, PackedQueue.TryCreate(h.Memory, h.Config, QueuePosition.Initial, out var p));
            return p!;
        }

        Assert.Equal(QueueError.None, SplitQueue.TryCreate(h.Memory, h.Config, QueuePosition.Initial, out var s));
        return s!;
    }
}
