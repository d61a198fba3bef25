namespace IoVirt.Hypervisor;

/// <summary>Where a global system interrupt goes: an irqchip input pin or an MSI message.</summary>
public readonly record struct GsiRoute
{
    private GsiRoute(uint gsi, GsiRouteKind kind, uint chip, uint pin, ulong address, uint data) =>
        (Gsi, Kind, Chip, Pin, MsiAddress, MsiData) = (gsi, kind, chip, pin, address, data);

    /// <summary>The first GSI free for MSI routes: 0-23 are the IOAPIC's pins (0-15 also the PIC's).</summary>
    public const uint FirstMsiGsi = 24;

    public uint Gsi { get; }

    public GsiRouteKind Kind { get; }

    /// <summary>For <see cref="GsiRouteKind.Irqchip"/>: PIC master 0, PIC slave 1, IOAPIC 2.</summary>
    public uint Chip { get; }

    public uint Pin { get; }

    public ulong MsiAddress { get; }

    public uint MsiData { get; }

    public static GsiRoute Irqchip(uint gsi, uint chip, uint pin) => new(gsi, GsiRouteKind.Irqchip, chip, pin, 0, 0);

    public static GsiRoute Msi(uint gsi, ulong address, uint data) => new(gsi, GsiRouteKind.Msi, 0, 0, address, data);

    /// <summary>
    /// The routes a PC's interrupt controllers start with, as QEMU sets them: ISA IRQs to the
    /// PICs (not 2, the cascade) and to the same IOAPIC pins, but IRQ 0 (the PIT) to pin 2, as
    /// the MADT's interrupt source override tells the guest; and IOAPIC pins 16-23.
    /// KVM_SET_GSI_ROUTING replaces the whole table, so these come first in every table.
    /// </summary>
    public static IReadOnlyList<GsiRoute> DefaultIrqchipRoutes { get; } = BuildDefaults();

    private static GsiRoute[] BuildDefaults()
    {
        var routes = new List<GsiRoute>();
        for (uint irq = 0; irq < 16; irq++)
        {
            if (irq != 2)
            {
                routes.Add(Irqchip(irq, irq < 8 ? 0u : 1u, irq % 8));
            }
        }

        for (uint gsi = 0; gsi < FirstMsiGsi; gsi++)
        {
            if (gsi != 2)
            {
                routes.Add(Irqchip(gsi, 2, gsi == 0 ? 2 : gsi));
            }
        }

        return [.. routes];
    }
}

public enum GsiRouteKind
{
    Irqchip,
    Msi,
}
