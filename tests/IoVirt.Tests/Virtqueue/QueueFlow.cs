using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Tests.Virtqueue;

/// <summary>Steps of the ordinary driver/device cycle, for tests about what happens around them.</summary>
internal static class QueueFlow
{
    /// <summary>The driver offers one readable buffer and publishes it; returns its id.</summary>
    public static ushort Offer(QueueHarness h, uint length = 64)
    {
        Assert.True(h.Driver.TryAdd([new DriverBuffer(h.DataBase, length, false)], indirect: false, out var id));
        h.Driver.PublishAvail();
        return id;
    }

    /// <summary>The device pops one chain, walks it and returns its head (unpublished).</summary>
    public static ChainHead Pop(DeviceQueue device)
    {
        Assert.True(device.TryPop(out var chain));
        Assert.Equal(QueueError.None, GuestRing.Walk(ref chain));
        return chain.Head;
    }

    /// <summary>The device pops one chain, adds it as used and publishes it.</summary>
    public static void Complete(DeviceQueue device, uint written = 0)
    {
        device.AddUsed(Pop(device), written);
        device.PublishUsed();
    }

    /// <summary>The driver collects every used buffer; returns how many.</summary>
    public static int TakeAll(QueueHarness h)
    {
        var taken = 0;
        while (h.Driver.TryTakeUsed(out _, out _))
        {
            taken++;
        }

        Assert.Equal(QueueError.None, h.Driver.Fault);
        return taken;
    }
}
