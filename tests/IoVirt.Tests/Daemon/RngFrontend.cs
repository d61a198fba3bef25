using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue.Driver;
using IoVirt.VhostUser;

namespace IoVirt.Tests.Daemon;

/// <summary>A guest driver of virtio-rng over vhost-user, for the daemon tests: connects, asks once for 256 bytes and returns them.</summary>
internal static class RngFrontend
{
    /// <summary>Fetches the bytes; <paramref name="whileConnected"/> runs once they came, before the connection closes.</summary>
    public static byte[] Fetch(string socket, DaemonProcess daemon, Action? whileConnected = null)
    {
        using var memory = new GuestMemory(GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, 1 << 20));
        using var frontend = VhostUserFrontend.Connect(socket);
        using var queue = FirstRing.Start(frontend, memory);
        var data = VhostUserTestBed.MemoryBase + 0x8_0000;
        Assert.True(queue.Driver.TryAdd([new DriverBuffer(data, 256, IsWritable: true)], false, out _));
        queue.Submit();
        Assert.True(queue.TryWaitUsed(out _, out var written, 10_000), daemon.Stderr);
        Assert.Equal(256u, written);
        whileConnected?.Invoke();
        var bytes = new byte[256];
        Assert.Equal(MemoryFault.None, memory.Read(data, bytes));
        return bytes;
    }
}
