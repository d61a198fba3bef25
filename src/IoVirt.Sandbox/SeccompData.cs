namespace IoVirt.Sandbox;

/// <summary>
/// Offsets in <c>struct seccomp_data</c> (linux/seccomp.h), what a filter reads: the syscall
/// number, the architecture, the instruction pointer and six 64-bit arguments, each read as two
/// 32-bit words (low word first on little-endian machines).
/// </summary>
public static class SeccompData
{
    public const uint Number = 0;
    public const uint Architecture = 4;
    public const uint Arguments = 16;

    /// <summary>Offset of argument <paramref name="index"/>'s low 32 bits (x86-64 is little-endian).</summary>
    public static uint ArgumentLow(int index) => Arguments + (8 * (uint)index);

    /// <summary>Offset of argument <paramref name="index"/>'s high 32 bits.</summary>
    public static uint ArgumentHigh(int index) => ArgumentLow(index) + 4;

    /// <summary>AUDIT_ARCH_X86_64: EM_X86_64 with the 64-bit and little-endian flags.</summary>
    public const uint ArchX8664 = 0xC000003E;

    /// <summary>Syscall numbers at or above this are the x32 ABI on x86-64; a filter for 64-bit calls refuses them.</summary>
    public const uint X32Bit = 0x40000000;
}
