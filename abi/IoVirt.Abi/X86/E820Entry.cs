using System.Runtime.InteropServices;

namespace IoVirt.Abi.X86;

/// <summary>struct boot_e820_entry: one range of the physical memory map (packed, 20 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct E820Entry
{
    public const int Size = 20;

    public ulong Address;
    public ulong Length;
    public E820Type Type;
}

/// <summary>E820 range types.</summary>
public enum E820Type : uint
{
    Ram = 1,
    Reserved = 2,
    Acpi = 3,
}
