namespace IoVirt.Abi.Acpi;

/// <summary>The Fixed ACPI Description Table, revision 6 (ACPI 6.5, 5.2.9): byte offsets and flags.</summary>
public static class Fadt
{
    public const int Size = 276;
    public const byte Revision = 6;
    public const byte MinorRevision = 5;

    public const int Dsdt = 40;
    public const int IapcBootArch = 109;
    public const int Flags = 112;
    public const int ResetRegister = 116;
    public const int ResetValue = 128;
    public const int FadtMinorVersion = 131;
    public const int XDsdt = 140;
    public const int SleepControlRegister = 244;
    public const int SleepStatusRegister = 256;
    public const int HypervisorVendorIdentity = 268;

    /// <summary>Flags: RESET_REG_SUP (bit 10) and HW_REDUCED_ACPI (bit 20).</summary>
    public const uint ResetRegisterSupported = 1u << 10, HardwareReduced = 1u << 20;

    /// <summary>IAPC_BOOT_ARCH: VGA Not Present (bit 2).</summary>
    public const ushort VgaNotPresent = 1 << 2;
}

/// <summary>A Generic Address Structure (ACPI 6.5, 5.2.3.2), 12 bytes.</summary>
public static class GenericAddress
{
    public const int Size = 12;

    public const int AddressSpace = 0;
    public const int BitWidth = 1;
    public const int BitOffset = 2;
    public const int AccessSize = 3;
    public const int Address = 4;

    /// <summary>Address space: system I/O (ports).</summary>
    public const byte SystemIo = 1;

    /// <summary>Access size: byte.</summary>
    public const byte ByteAccess = 1;
}
