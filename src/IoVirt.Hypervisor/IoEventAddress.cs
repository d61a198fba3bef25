namespace IoVirt.Hypervisor;

/// <summary>A port or guest-physical address whose writes of <see cref="Length"/> bytes signal an ioeventfd.</summary>
public readonly record struct IoEventAddress(bool Port, ulong Address, int Length)
{
    public static IoEventAddress Pio(ushort port, int length) => new(true, port, length);

    public static IoEventAddress Mmio(ulong address, int length) => new(false, address, length);
}
