namespace IoVirt.Abi.Acpi;

/// <summary>The Root System Description Pointer, revision 2 (ACPI 6.5, 5.2.5.3): byte offsets.</summary>
public static class Rsdp
{
    public const int Size = 36;
    /// <summary>The ACPI 1.0 checksum covers the first 20 bytes.</summary>
    public const int ChecksumLength = 20;

    public const int Signature = 0;
    public const int Checksum = 8;
    public const int OemId = 9;
    public const int Revision = 15;
    public const int RsdtAddress = 16;
    public const int Length = 20;
    public const int XsdtAddress = 24;
    /// <summary>Covers all <see cref="Size"/> bytes.</summary>
    public const int ExtendedChecksum = 32;

    public static ReadOnlySpan<byte> SignatureBytes => "RSD PTR "u8;
}
