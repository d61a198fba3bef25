using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue;

namespace IoVirt.Tests.Virtqueue;

/// <summary>One descriptor as a test writes it: NEXT is added by the chain writers, never given here.</summary>
internal readonly record struct RawDesc(ulong Address, uint Length, VirtqDescFlags Flags = VirtqDescFlags.None);

/// <summary>
/// Writes ring state straight into guest memory, the way a buggy or hostile driver would, for a
/// <see cref="QueueHarness"/> of either format. Chains start at descriptor 0 (split) or at ring
/// slot 0 with buffer id 0 (packed), so they suit a fresh queue.
/// </summary>
internal static unsafe class GuestRing
{
    /// <summary>A host pointer to a <typeparamref name="T"/> at <paramref name="address"/>, which must be guest memory.</summary>
    public static T* At<T>(GuestMemory memory, ulong address)
        where T : unmanaged
    {
        Assert.Equal(MemoryFault.None, memory.TryGetPointer(address, (ulong)sizeof(T), out var host));
        return (T*)host;
    }

    /// <summary>Writes split descriptor <paramref name="index"/> of the table at <paramref name="table"/>.</summary>
    public static void SplitDescriptor(GuestMemory memory, ulong table, int index, ulong address, uint length, VirtqDescFlags flags, ushort next = 0)
    {
        var d = At<VirtqDesc>(memory, table + ((ulong)index * VirtqDesc.Size));
        d->Addr = address;
        d->Len = length;
        d->Next = next;
        d->Flags = flags;
    }

    public static void SplitDescriptor(QueueHarness h, int index, ulong address, uint length, VirtqDescFlags flags, ushort next = 0) =>
        SplitDescriptor(h.Memory, h.Config.DescriptorTable, index, address, length, flags, next);

    /// <summary>Writes packed descriptor <paramref name="slot"/> of the ring or table at <paramref name="table"/>, flags exactly as given.</summary>
    public static void PackedDescriptor(GuestMemory memory, ulong table, int slot, ulong address, uint length, ushort id, PackedDescFlags flags)
    {
        var d = At<PackedDesc>(memory, table + ((ulong)slot * PackedDesc.Size));
        d->Addr = address;
        d->Len = length;
        d->Id = id;
        d->Flags = flags;
    }

    /// <summary>Writes ring slot <paramref name="slot"/> and makes it available in the first lap (AVAIL set, USED clear).</summary>
    public static void PackedAvailable(QueueHarness h, int slot, ulong address, uint length, ushort id, PackedDescFlags flags) =>
        PackedDescriptor(h.Memory, h.Config.DescriptorTable, slot, address, length, id, flags | PackedDescFlags.Avail);

    /// <summary>Reads the flags of packed ring slot <paramref name="slot"/>.</summary>
    public static PackedDescFlags PackedFlags(QueueHarness h, int slot) =>
        At<PackedDesc>(h.Memory, h.Config.DescriptorTable + ((ulong)slot * PackedDesc.Size))->Flags;

    /// <summary>Overwrites the flags of packed ring slot <paramref name="slot"/>.</summary>
    public static void SetPackedFlags(QueueHarness h, int slot, PackedDescFlags flags) =>
        At<PackedDesc>(h.Memory, h.Config.DescriptorTable + ((ulong)slot * PackedDesc.Size))->Flags = flags;

    /// <summary>The split available ring's idx as the driver last wrote it.</summary>
    public static ushort AvailIdx(QueueHarness h) => At<VirtqAvail>(h.Memory, h.Config.DriverArea)->Idx;

    public static void SetAvailIdx(QueueHarness h, ushort idx) => At<VirtqAvail>(h.Memory, h.Config.DriverArea)->Idx = idx;

    /// <summary>Puts <paramref name="head"/> in the next split available ring entry and raises idx.</summary>
    public static void Offer(QueueHarness h, ushort head)
    {
        var idx = AvailIdx(h);
        var entry = At<ushort>(h.Memory, h.Config.DriverArea + VirtqAvail.RingOffset + ((ulong)(idx % h.Config.Size) * VirtqAvail.ElementSize));
        *entry = LittleEndian.FromHost(head);
        SetAvailIdx(h, unchecked((ushort)(idx + 1)));
    }

    /// <summary>
    /// Offers one chain of <paramref name="descriptors"/> linked with NEXT: split descriptors 0, 1, …
    /// under head 0; packed slots 0, 1, … with buffer id 0.
    /// </summary>
    public static void OfferChain(QueueHarness h, bool packed, params RawDesc[] descriptors)
    {
        for (var i = 0; i < descriptors.Length; i++)
        {
            var d = descriptors[i];
            var more = i + 1 < descriptors.Length;
            if (packed)
            {
                PackedAvailable(h, i, d.Address, d.Length, 0, (PackedDescFlags)d.Flags | (more ? PackedDescFlags.Next : PackedDescFlags.None));
            }
            else
            {
                SplitDescriptor(h, i, d.Address, d.Length, d.Flags | (more ? VirtqDescFlags.Next : VirtqDescFlags.None), (ushort)(more ? i + 1 : 0));
            }
        }

        if (!packed)
        {
            Offer(h, 0);
        }
    }

    /// <summary>Writes an indirect table at <paramref name="table"/> in the format's layout (split entries linked with NEXT, packed ones sequential).</summary>
    public static void IndirectTable(QueueHarness h, bool packed, ulong table, params RawDesc[] entries)
    {
        for (var i = 0; i < entries.Length; i++)
        {
            var d = entries[i];
            var more = i + 1 < entries.Length;
            if (packed)
            {
                PackedDescriptor(h.Memory, table, i, d.Address, d.Length, 0, (PackedDescFlags)d.Flags);
            }
            else
            {
                SplitDescriptor(h.Memory, table, i, d.Address, d.Length, d.Flags | (more ? VirtqDescFlags.Next : VirtqDescFlags.None), (ushort)(more ? i + 1 : 0));
            }
        }
    }

    /// <summary>More buffers than any chain a queue accepts can have (65536 indirect entries).</summary>
    private const int WalkLimit = 70_000;

    /// <summary>
    /// Walks <paramref name="chain"/> to its end and returns its error; the buffers seen go to
    /// <paramref name="buffers"/>. A walk that does not end fails the test instead of hanging it.
    /// </summary>
    public static QueueError Walk(ref DescriptorChain chain, List<VirtqBuffer>? buffers = null)
    {
        var count = 0;
        while (chain.TryGetNext(out var buffer))
        {
            buffers?.Add(buffer);
            if (++count > WalkLimit)
            {
                Assert.Fail($"The chain did not end after {WalkLimit} buffers.");
            }
        }

        return chain.Error;
    }

    /// <summary>Pops one chain, which must be there, and walks it.</summary>
    public static QueueError PopAndWalk(DeviceQueue queue, List<VirtqBuffer>? buffers = null)
    {
        Assert.True(queue.TryPop(out var chain));
        var error = Walk(ref chain, buffers);
        Assert.Equal(error, queue.Fault);
        return error;
    }

    /// <summary>
    /// Asserts the queue stopped with <paramref name="error"/>: after the driver offers a valid chain
    /// (split: descriptor size-1; packed: every slot not available yet), nothing pops and the first
    /// error stays.
    /// </summary>
    public static void AssertStopped(QueueHarness h, QueueError error)
    {
        Assert.Equal(error, h.Device.Fault);
        Assert.True(h.Device.IsBroken);
        var last = h.Config.Size - 1;
        if (h.Device is IoVirt.Virtqueue.Packed.PackedQueue)
        {
            for (var slot = 0; slot < h.Config.Size; slot++)
            {
                if ((PackedFlags(h, slot) & PackedDescFlags.Avail) == 0)
                {
                    PackedAvailable(h, slot, h.DataBase, 1, (ushort)slot, PackedDescFlags.None);
                }
            }
        }
        else
        {
            SplitDescriptor(h, last, h.DataBase, 1, VirtqDescFlags.None);
            Offer(h, (ushort)last);
        }

        Assert.False(h.Device.TryPop(out _));
        Assert.False(h.Device.TryPop(out _));
        Assert.Equal(error, h.Device.Fault);
    }
}
