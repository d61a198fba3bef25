using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace IoVirt.Abi.Virtio;

/// <summary>
/// Conversions between virtio's little-endian fields and host order. On little-endian hosts the
/// JIT folds each call to nothing; on big-endian hosts it is a byte swap.
/// </summary>
public static class LittleEndian
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ToHost(ushort value) => BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ToHost(uint value) => BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ToHost(ulong value) => BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);

    /// <summary>Byte swapping is its own inverse, so host-to-wire is the same operation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromHost(ushort value) => ToHost(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint FromHost(uint value) => ToHost(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong FromHost(ulong value) => ToHost(value);
}
