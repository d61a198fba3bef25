using IoVirt.Abi.Virtio;
using IoVirt.Memory;

namespace IoVirt.Machine.Pci;

/// <summary>
/// A ring's indices and notification fields as the guest's memory holds them now, in words: what
/// a person needs to tell a driver that submitted nothing from a device that completed nothing and
/// from a completion that was never signalled. Read without the device's cooperation, so it also
/// describes a ring whose back end (another process) is stuck.
/// </summary>
internal static class RingState
{
    public static string Describe(GuestMemory memory, bool packed, bool eventIdx, int size, ulong driverArea, ulong deviceArea) =>
        packed ? DescribePacked(memory, driverArea, deviceArea) : DescribeSplit(memory, eventIdx, size, driverArea, deviceArea);

    private static string DescribeSplit(GuestMemory memory, bool eventIdx, int size, ulong driverArea, ulong deviceArea)
    {
        if (memory.Read<VirtqAvail>(driverArea, out var avail) != MemoryFault.None || memory.Read<VirtqUsed>(deviceArea, out var used) != MemoryFault.None)
        {
            return "split, its rings outside guest memory";
        }

        var text = $"split, avail idx {avail.Idx} flags {(ushort)avail.Flags}, used idx {used.Idx} flags {(ushort)used.Flags}";
        if (eventIdx
            && memory.Read<ushort>(driverArea + (ulong)VirtqAvail.UsedEventOffset(size), out var usedEvent) == MemoryFault.None
            && memory.Read<ushort>(deviceArea + (ulong)VirtqUsed.AvailEventOffset(size), out var availEvent) == MemoryFault.None)
        {
            text += $", used_event {LittleEndian.ToHost(usedEvent)}, avail_event {LittleEndian.ToHost(availEvent)}";
        }

        return text;
    }

    private static string DescribePacked(GuestMemory memory, ulong driverArea, ulong deviceArea) =>
        memory.Read<PackedEventSuppression>(driverArea, out var driver) != MemoryFault.None || memory.Read<PackedEventSuppression>(deviceArea, out var device) != MemoryFault.None
            ? "packed, its event areas outside guest memory"
            : $"packed, driver event {driver.Flags} at 0x{driver.OffWrap:x4}, device event {device.Flags} at 0x{device.OffWrap:x4}";
}
