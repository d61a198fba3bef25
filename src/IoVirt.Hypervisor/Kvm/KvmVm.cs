using System.Runtime.CompilerServices;
using IoVirt.Abi.Kvm;
using IoVirt.Interop;

namespace IoVirt.Hypervisor.Kvm;

/// <summary>A KVM VM with the in-kernel irqchip and PIT.</summary>
internal sealed unsafe class KvmVm : IVirtualMachine
{
    /// <summary>
    /// Three pages below the BIOS area that VMX needs for the real-mode TSS and one for its
    /// identity-map page table; the e820 map must keep them reserved (see the machine's layout).
    /// </summary>
    public const ulong TssAddress = 0xfffb_d000;
    public const ulong IdentityMapAddress = 0xfffb_c000;

    private readonly KvmHypervisor _hypervisor;
    private readonly KvmFd _vm;
    private readonly Lock _routingLock = new();

    private KvmVm(KvmHypervisor hypervisor, KvmFd vm)
    {
        _hypervisor = hypervisor;
        _vm = vm;
    }

    public static KvmVm Create(KvmHypervisor hypervisor, KvmFd fd)
    {
        var vm = new KvmVm(hypervisor, fd);
        try
        {
            var identityMap = IdentityMapAddress;
            fd.Call(KvmIoctl.SetIdentityMapAddr, &identityMap, "KVM_SET_IDENTITY_MAP_ADDR");
            fd.Call(KvmIoctl.SetTssAddr, TssAddress, "KVM_SET_TSS_ADDR");
            fd.Call(KvmIoctl.CreateIrqchip, 0, "KVM_CREATE_IRQCHIP");
            var pit = new KvmPitConfig { Flags = KvmPitConfig.SpeakerDummy };
            fd.Call(KvmIoctl.CreatePit2, &pit, "KVM_CREATE_PIT2");
            vm.SetGsiRouting(GsiRoute.DefaultIrqchipRoutes);
            return vm;
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }

    public void MapMemory(int slot, ulong guestAddress, nint host, ulong size)
    {
        var region = new KvmUserspaceMemoryRegion
        {
            Slot = (uint)slot, GuestPhysAddr = guestAddress, MemorySize = size, UserspaceAddr = (ulong)host,
        };
        _vm.Call(KvmIoctl.SetUserMemoryRegion, &region, "KVM_SET_USER_MEMORY_REGION");
    }

    public void RegisterIoEvent(EventFd eventFd, IoEventAddress address, ulong? datamatch = null) =>
        IoEvent(eventFd, address, datamatch, 0);

    public void UnregisterIoEvent(EventFd eventFd, IoEventAddress address, ulong? datamatch = null) =>
        IoEvent(eventFd, address, datamatch, KvmIoeventfd.FlagDeassign);

    public void RegisterIrqEvent(EventFd eventFd, uint gsi) => Irqfd(eventFd, gsi, 0);

    public void UnregisterIrqEvent(EventFd eventFd, uint gsi) => Irqfd(eventFd, gsi, KvmIrqfd.FlagDeassign);

    public void SetGsiRouting(IReadOnlyList<GsiRoute> routes)
    {
        var size = KvmIrqRouting.HeaderSize + (routes.Count * Unsafe.SizeOf<KvmIrqRoutingEntry>());
        var buffer = new byte[size];
        fixed (byte* p = buffer)
        {
            ((KvmIrqRouting*)p)->Count = (uint)routes.Count;
            var entries = new Span<KvmIrqRoutingEntry>(p + KvmIrqRouting.HeaderSize, routes.Count);
            for (var i = 0; i < routes.Count; i++)
            {
                var route = routes[i];
                entries[i] = route.Kind == GsiRouteKind.Msi
                    ? KvmIrqRoutingEntry.Msi(route.Gsi, route.MsiAddress, route.MsiData)
                    : KvmIrqRoutingEntry.Irqchip(route.Gsi, route.Chip, route.Pin);
            }

            lock (_routingLock)
            {
                _vm.Call(KvmIoctl.SetGsiRouting, p, "KVM_SET_GSI_ROUTING");
            }
        }
    }

    public void SetIrqLine(uint gsi, bool high)
    {
        var level = new KvmIrqLevel { Irq = gsi, Level = high ? 1u : 0u };
        _vm.Call(KvmIoctl.IrqLine, &level, "KVM_IRQ_LINE");
    }

    public void SignalMsi(ulong address, uint data)
    {
        var msi = new KvmMsi { AddressLo = unchecked((uint)address), AddressHi = (uint)(address >> 32), Data = data };
        _vm.Call(KvmIoctl.SignalMsi, &msi, "KVM_SIGNAL_MSI");
    }

    public IVcpu CreateVcpu(int id)
    {
        var fd = _vm.Call(KvmIoctl.CreateVcpu, (ulong)id, "KVM_CREATE_VCPU");
        return new KvmVcpu(id, new KvmFd(fd), _hypervisor.RunSize);
    }

    public void Dispose() => _vm.Dispose();

    private void IoEvent(EventFd eventFd, IoEventAddress address, ulong? datamatch, uint flags)
    {
        var request = new KvmIoeventfd
        {
            Addr = address.Address,
            Len = (uint)address.Length,
            Fd = eventFd.Fd,
            Datamatch = datamatch ?? 0,
            Flags = flags | (address.Port ? KvmIoeventfd.FlagPio : 0) | (datamatch.HasValue ? KvmIoeventfd.FlagDatamatch : 0),
        };
        _vm.Call(KvmIoctl.Ioeventfd, &request, "KVM_IOEVENTFD");
    }

    private void Irqfd(EventFd eventFd, uint gsi, uint flags)
    {
        var request = new KvmIrqfd { Fd = (uint)eventFd.Fd, Gsi = gsi, Flags = flags };
        _vm.Call(KvmIoctl.Irqfd, &request, "KVM_IRQFD");
    }
}
