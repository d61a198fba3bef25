namespace IoVirt.Abi.Acpi;

/// <summary>The Multiple APIC Description Table (ACPI 6.5, 5.2.12): offsets and the interrupt controller structures a PC needs.</summary>
public static class Madt
{
    public const byte Revision = 5;

    /// <summary>After the SDT header: the local APIC address (u32) and flags (u32).</summary>
    public const int LocalApicAddress = 36;
    public const int Flags = 40;
    public const int FirstEntry = 44;

    /// <summary>Flags: PCAT_COMPAT, a dual 8259 is present.</summary>
    public const uint PcatCompat = 1;

    /// <summary>Processor Local APIC: type 0, 8 bytes: UID (u8), APIC ID (u8), flags (u32, 1 enabled).</summary>
    public const byte LocalApicType = 0, LocalApicLength = 8;

    /// <summary>I/O APIC: type 1, 12 bytes: ID (u8), reserved, address (u32), GSI base (u32).</summary>
    public const byte IoApicType = 1, IoApicLength = 12;

    /// <summary>Interrupt Source Override: type 2, 10 bytes: bus (u8, 0 ISA), source IRQ (u8), GSI (u32), flags (u16).</summary>
    public const byte InterruptOverrideType = 2, InterruptOverrideLength = 10;

    /// <summary>Local APIC NMI: type 4, 6 bytes: UID (u8, 0xFF all), flags (u16), LINT# (u8).</summary>
    public const byte LocalApicNmiType = 4, LocalApicNmiLength = 6;

    public const uint LocalApicEnabled = 1;
}
