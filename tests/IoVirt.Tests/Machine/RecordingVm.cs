using IoVirt.Hypervisor;
using IoVirt.Interop;

namespace IoVirt.Tests.Machine;

/// <summary>An <see cref="IVirtualMachine"/> that records what the machine asks of the hypervisor.</summary>
internal sealed class RecordingVm : IVirtualMachine
{
    public List<(EventFd Fd, IoEventAddress Address)> IoEvents { get; } = [];

    public List<(EventFd Fd, uint Gsi)> IrqEvents { get; } = [];

    public IReadOnlyList<GsiRoute> Routes { get; private set; } = [];

    public void MapMemory(int slot, ulong guestAddress, nint host, ulong size)
    {
    }

    public void RegisterIoEvent(EventFd eventFd, IoEventAddress address, ulong? datamatch = null) => IoEvents.Add((eventFd, address));

    public void UnregisterIoEvent(EventFd eventFd, IoEventAddress address, ulong? datamatch = null) =>
        Assert.True(IoEvents.Remove((eventFd, address)), $"no ioeventfd at 0x{address.Address:x} to remove");

    public void RegisterIrqEvent(EventFd eventFd, uint gsi) => IrqEvents.Add((eventFd, gsi));

    public void UnregisterIrqEvent(EventFd eventFd, uint gsi) => Assert.True(IrqEvents.Remove((eventFd, gsi)), $"no irqfd on GSI {gsi} to remove");

    public void SetGsiRouting(IReadOnlyList<GsiRoute> routes) => Routes = routes;

    public void SetIrqLine(uint gsi, bool high)
    {
    }

    public void SignalMsi(ulong address, uint data)
    {
    }

    public IVcpu CreateVcpu(int id) => throw new NotSupportedException();

    public void Dispose()
    {
    }
}
