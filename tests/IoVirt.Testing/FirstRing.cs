using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.VhostUser;

namespace IoVirt.Testing;

/// <summary>The shortest set-up that gets a ring served: for tests that need one working queue, not a particular handshake.</summary>
public static class FirstRing
{
    /// <summary>
    /// Takes every protocol feature and every device feature but the packed ring, sends
    /// <paramref name="memory"/>'s table, and starts and enables split ring 0 of
    /// <paramref name="size"/> entries at the start of its first region.
    /// </summary>
    public static FrontendQueue Start(VhostUserFrontend frontend, GuestMemory memory, int size = 8)
    {
        ArgumentNullException.ThrowIfNull(frontend);
        ArgumentNullException.ThrowIfNull(memory);
        frontend.SetProtocolFeatures(frontend.GetProtocolFeatures());
        frontend.SetFeatures(frontend.GetFeatures() & ~VirtioFeature.Bit(VirtioFeature.RingPacked));
        frontend.SetMemTable(memory);
        var queue = FrontendQueue.Start(frontend, memory, 0, size, packed: false, eventIdx: true, memory.Regions[0].GuestAddress);
        frontend.SetVringEnable(0, true);
        return queue;
    }
}
