using IoVirt.Interop;

namespace IoVirt.Hypervisor;

/// <summary>
/// A VM: guest-physical memory, notifications that bypass the VMM (ioeventfd: a guest write
/// signals an eventfd; irqfd: an eventfd signal injects an interrupt), interrupt routes and vCPUs.
/// Safe to call from any thread.
/// </summary>
public interface IVirtualMachine : IDisposable
{
    /// <summary>
    /// Maps <paramref name="size"/> bytes of this process at <paramref name="host"/> into the
    /// guest at <paramref name="guestAddress"/>, as slot <paramref name="slot"/>. Page-aligned.
    /// </summary>
    void MapMemory(int slot, ulong guestAddress, nint host, ulong size);

    /// <summary>Makes a guest write to <paramref name="address"/> (matching <paramref name="datamatch"/>, if given) signal <paramref name="eventFd"/> instead of exiting.</summary>
    void RegisterIoEvent(EventFd eventFd, IoEventAddress address, ulong? datamatch = null);

    /// <summary>Undoes <see cref="RegisterIoEvent"/> with the same arguments.</summary>
    void UnregisterIoEvent(EventFd eventFd, IoEventAddress address, ulong? datamatch = null);

    /// <summary>Makes a signal of <paramref name="eventFd"/> inject global interrupt <paramref name="gsi"/> (edge).</summary>
    void RegisterIrqEvent(EventFd eventFd, uint gsi);

    /// <summary>Undoes <see cref="RegisterIrqEvent"/>.</summary>
    void UnregisterIrqEvent(EventFd eventFd, uint gsi);

    /// <summary>
    /// Replaces the whole GSI routing table: the irqchip pins' routes (see
    /// <see cref="GsiRoute.DefaultIrqchipRoutes"/>) and every MSI route in use.
    /// </summary>
    void SetGsiRouting(IReadOnlyList<GsiRoute> routes);

    /// <summary>Drives the level of an irqchip input (an ISA IRQ or IOAPIC pin).</summary>
    void SetIrqLine(uint gsi, bool high);

    /// <summary>Injects one message-signalled interrupt.</summary>
    void SignalMsi(ulong address, uint data);

    /// <summary>Creates vCPU <paramref name="id"/> (its APIC ID); 0 is the bootstrap processor.</summary>
    IVcpu CreateVcpu(int id);
}
