using System.Runtime.InteropServices;

namespace IoVirt.Abi.Kvm;

/// <summary>struct kvm_irq_routing_entry: one GSI routed to an irqchip pin or to an MSI message.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmIrqRoutingEntry
{
    /// <summary>KVM_IRQ_ROUTING_IRQCHIP: <see cref="U0"/> is the irqchip, <see cref="U1"/> the pin.</summary>
    public const uint TypeIrqchip = 1;

    /// <summary>KVM_IRQ_ROUTING_MSI: <see cref="U0"/>..<see cref="U2"/> are address low, high and data.</summary>
    public const uint TypeMsi = 2;

    /// <summary>KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC.</summary>
    public const uint IrqchipPicMaster = 0, IrqchipPicSlave = 1, IrqchipIoapic = 2;

    public uint Gsi;
    public uint Type;
    public uint Flags;
    private readonly uint _pad;

    // The union u, 32 bytes: irqchip {irqchip, pin} or msi {address_lo, address_hi, data, devid}.
    public uint U0, U1, U2, U3;
    private readonly FixedBytes16 _unionRest;

    public static KvmIrqRoutingEntry Irqchip(uint gsi, uint chip, uint pin) => new() { Gsi = gsi, Type = TypeIrqchip, U0 = chip, U1 = pin };

    public static KvmIrqRoutingEntry Msi(uint gsi, ulong address, uint data) =>
        new() { Gsi = gsi, Type = TypeMsi, U0 = unchecked((uint)address), U1 = (uint)(address >> 32), U2 = data };
}

/// <summary>struct kvm_irq_routing: a count and flags, then that many <see cref="KvmIrqRoutingEntry"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmIrqRouting
{
    public const int HeaderSize = 8;

    public uint Count;
    public uint Flags;
}
