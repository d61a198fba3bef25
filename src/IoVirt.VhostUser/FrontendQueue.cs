using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.VhostUser;

/// <summary>
/// A driver-side queue a front end runs against a vhost-user back end: rings placed in shared
/// guest memory, announced with SET_VRING_NUM/ADDR/BASE, a call eventfd to wait on and a kick
/// eventfd that starts the ring.
/// </summary>
public sealed class FrontendQueue : IDisposable
{
    private FrontendQueue(uint index, DriverQueue driver, EventFd kick, EventFd call)
    {
        Index = index;
        Driver = driver;
        Kick = kick;
        Call = call;
    }

    public uint Index { get; }

    public DriverQueue Driver { get; }

    public EventFd Kick { get; private set; }

    public EventFd Call { get; }

    /// <summary>
    /// Places ring <paramref name="index"/> at guest address <paramref name="ringAddress"/> of
    /// <paramref name="memory"/> (indirect tables, when wanted, at <paramref name="indirectAddress"/>)
    /// and starts it on the back end. The features must already be set on the front end.
    /// </summary>
    public static FrontendQueue Start(
        VhostUserFrontend frontend, GuestMemory memory, uint index, int size, bool packed, bool eventIdx,
        ulong ringAddress, ulong indirectAddress = 0, int indirectEntries = 0)
    {
        ArgumentNullException.ThrowIfNull(frontend);
        ArgumentNullException.ThrowIfNull(memory);
        var config = packed
            ? RingLayout.Packed(ringAddress, size, eventIdx, indirectEntries > 0)
            : RingLayout.Split(ringAddress, size, eventIdx, indirectEntries > 0);
        DriverQueue driver = packed
            ? new PackedDriverQueue(memory, config, indirectAddress, indirectEntries)
            : new SplitDriverQueue(memory, config, indirectAddress, indirectEntries);
        var queue = new FrontendQueue(index, driver, EventFd.Create(), EventFd.Create());
        queue.Announce(frontend, packed ? QueuePosition.Initial.ToPackedWord() : 0);
        return queue;
    }

    /// <summary>
    /// Announces the same rings to a back end reached over a new connection (after the old back
    /// end went away), from <paramref name="position"/>: for a split ring, what a front end that
    /// could not ask the dead back end uses, the ring's used index.
    /// </summary>
    public void Reconnect(VhostUserFrontend frontend, uint position) => Announce(frontend, position);

    private void Announce(VhostUserFrontend frontend, uint position)
    {
        var config = Driver.Config;
        var memory = Driver.Memory;
        frontend.SetVringNum(Index, (uint)config.Size);
        frontend.SetVringAddr(Index, UserAddress(memory, config.DescriptorTable), UserAddress(memory, config.DriverArea), UserAddress(memory, config.DeviceArea));
        frontend.SetVringBase(Index, position);
        frontend.SetVringCall(Index, Call);
        frontend.SetVringKick(Index, Kick);
    }

    /// <summary>
    /// Starts the ring again after GET_VRING_BASE stopped it (the back end dropped the old kick
    /// eventfd): from <paramref name="position"/>, with a new kick eventfd.
    /// </summary>
    public void Resume(VhostUserFrontend frontend, uint position)
    {
        ArgumentNullException.ThrowIfNull(frontend);
        frontend.SetVringBase(Index, position);
        var kick = EventFd.Create();
        frontend.SetVringKick(Index, kick);
        Kick.Dispose();
        Kick = kick;
    }

    /// <summary>Publishes what was added and kicks the back end if it asked for it.</summary>
    public void Submit()
    {
        Driver.PublishAvail();
        if (Driver.NeedsKick())
        {
            Kick.Signal();
        }
    }

    /// <summary>
    /// Waits for the next used buffer, sleeping on the call eventfd; false after <paramref name="timeoutMs"/>.
    /// Throws <see cref="InvalidDataException"/> once the back end broke the ring (a used index
    /// that jumps, an id never handed out): the ring is stopped, and waiting on would spin.
    /// </summary>
    public bool TryWaitUsed(out ushort id, out uint writtenBytes, int timeoutMs)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            if (Driver.TryTakeUsed(out id, out writtenBytes))
            {
                return true;
            }

            if (Driver.Fault != QueueError.None)
            {
                throw new InvalidDataException($"the back end broke ring {Index}: {Driver.Fault}");
            }

            if (Driver.EnableInterrupts())
            {
                continue;
            }

            var left = deadline - Environment.TickCount64;
            if (left <= 0 || !Call.Wait((int)left))
            {
                return Driver.TryTakeUsed(out id, out writtenBytes);
            }
        }
    }

    /// <summary>The front end's virtual address of a guest address (what vhost-user ring addresses use).</summary>
    public static ulong UserAddress(GuestMemory memory, ulong guestAddress)
    {
        ArgumentNullException.ThrowIfNull(memory);
        foreach (var region in memory.Regions)
        {
            if (guestAddress >= region.GuestAddress && guestAddress < region.GuestEnd)
            {
                return region.UserAddress + (guestAddress - region.GuestAddress);
            }
        }

        throw new ArgumentException($"Guest address 0x{guestAddress:x} is not in guest memory.", nameof(guestAddress));
    }

    public void Dispose()
    {
        Kick.Dispose();
        Call.Dispose();
    }
}
