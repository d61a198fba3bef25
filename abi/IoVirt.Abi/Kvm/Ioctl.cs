namespace IoVirt.Abi.Kvm;

/// <summary>
/// Linux's ioctl request encoding (asm-generic/ioctl.h, as x86 uses it): direction in bits 30-31,
/// argument size in bits 16-29, type in bits 8-15 and number in bits 0-7.
/// </summary>
public static class Ioctl
{
    private const uint Write = 1;
    private const uint Read = 2;

    /// <summary>_IO: no argument, or an integer passed by value.</summary>
    public static uint None(uint type, uint number) => Encode(0, type, number, 0);

    /// <summary>_IOW: the kernel reads <paramref name="size"/> bytes from the argument.</summary>
    public static uint In(uint type, uint number, int size) => Encode(Write, type, number, size);

    /// <summary>_IOR: the kernel writes <paramref name="size"/> bytes to the argument.</summary>
    public static uint Out(uint type, uint number, int size) => Encode(Read, type, number, size);

    /// <summary>_IOWR: both.</summary>
    public static uint InOut(uint type, uint number, int size) => Encode(Read | Write, type, number, size);

    private static uint Encode(uint direction, uint type, uint number, int size) =>
        (direction << 30) | ((uint)size << 16) | (type << 8) | number;
}
