namespace IoVirt.Abi.Acpi;

/// <summary>The header every system description table starts with (ACPI 6.5, 5.2.6): byte offsets.</summary>
public static class SdtHeader
{
    public const int Size = 36;

    public const int Signature = 0;
    public const int Length = 4;
    public const int Revision = 8;
    /// <summary>Makes the whole table, header included, sum to 0 mod 256.</summary>
    public const int Checksum = 9;
    public const int OemId = 10;
    public const int OemTableId = 16;
    public const int OemRevision = 24;
    public const int CreatorId = 28;
    public const int CreatorRevision = 32;
}
