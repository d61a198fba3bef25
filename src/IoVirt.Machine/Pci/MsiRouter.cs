using IoVirt.Hypervisor;

namespace IoVirt.Machine.Pci;

/// <summary>
/// The machine's MSI routes: a GSI per MSI-X vector, each pointing at the message the driver
/// programmed. The hypervisor takes the routing table whole, so every change sends it all,
/// after the irqchip's own routes.
/// </summary>
public sealed class MsiRouter(IVirtualMachine vm)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, GsiRoute> _routes = [];
    private uint _nextGsi = GsiRoute.FirstMsiGsi;

    public uint AllocateGsi()
    {
        lock (_lock)
        {
            return _nextGsi++;
        }
    }

    /// <summary>Points <paramref name="gsi"/> at the message (<paramref name="address"/>, <paramref name="data"/>).</summary>
    public void Route(uint gsi, ulong address, uint data)
    {
        lock (_lock)
        {
            var route = GsiRoute.Msi(gsi, address, data);
            if (_routes.TryGetValue(gsi, out var old) && old == route)
            {
                return;
            }

            _routes[gsi] = route;
            vm.SetGsiRouting([.. GsiRoute.DefaultIrqchipRoutes, .. _routes.Values]);
        }
    }
}
