using IoVirt.Abi.Virtio;
using IoVirt.Memory;

namespace IoVirt.Testing;

/// <summary>
/// Writes raw ring contents into a <see cref="QueueHarness"/>'s memory, bypassing the driver,
/// so tests can hand the device exactly the malformed state they mean to.
/// </summary>
public sealed class RingWriter(QueueHarness harness)
{
    private ushort _availIdx;

    /// <summary>Writes split descriptor <paramref name="index"/> of the descriptor table.</summary>
    public void Split(int index, ulong address, uint length, VirtqDescFlags flags = VirtqDescFlags.None, ushort next = 0) =>
        Put(harness.Config.DescriptorTable + ((ulong)index * VirtqDesc.Size), Descriptor(address, length, flags, next));

    /// <summary>Writes an indirect table of split descriptors at <paramref name="address"/>.</summary>
    public void Table(ulong address, params VirtqDesc[] entries)
    {
        for (var i = 0; i < entries.Length; i++)
        {
            Put(address + ((ulong)i * VirtqDesc.Size), entries[i]);
        }
    }

    public static VirtqDesc Descriptor(ulong address, uint length, VirtqDescFlags flags = VirtqDescFlags.None, ushort next = 0) =>
        new() { Addr = address, Len = length, Flags = flags, Next = next };

    /// <summary>Puts <paramref name="heads"/> in the split available ring and raises its index past them.</summary>
    public void Publish(params ushort[] heads)
    {
        foreach (var head in heads)
        {
            Put(harness.Config.DriverArea + VirtqAvail.RingOffset + ((ulong)(_availIdx % harness.Config.Size) * 2), LittleEndian.FromHost(head));
            _availIdx = unchecked((ushort)(_availIdx + 1));
        }

        SetAvailIndex(_availIdx);
    }

    public void SetAvailIndex(ushort index) => Put(harness.Config.DriverArea + VirtqAvail.IdxOffset, LittleEndian.FromHost(index));

    /// <summary>Writes packed ring slot <paramref name="slot"/>, made available for the driver's first lap unless <paramref name="available"/> is false.</summary>
    public void Packed(int slot, ulong address, uint length, ushort id, PackedDescFlags flags = PackedDescFlags.None, bool available = true) =>
        Put(harness.Config.DescriptorTable + ((ulong)slot * PackedDesc.Size), new PackedDesc
        {
            Addr = address,
            Len = length,
            Id = id,
            Flags = flags | (available ? PackedDescFlags.Avail : PackedDescFlags.None),
        });

    private void Put<T>(ulong address, T value)
        where T : unmanaged
    {
        if (harness.Memory.Write(address, in value) != MemoryFault.None)
        {
            throw new InvalidOperationException($"test bug: 0x{address:x} is outside the harness memory");
        }
    }
}
