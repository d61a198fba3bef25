using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace IoVirt.Tests.Abi;

/// <summary>Writes a value through a struct's public accessor.</summary>
internal delegate void FieldSetter<T>(ref T target, ulong value) where T : unmanaged;

/// <summary>Layout and byte-order assertions shared by the ABI tests.</summary>
internal static class AbiAssert
{
    /// <summary>A distinct byte in every position, so a swapped or misplaced byte shows.</summary>
    private const ulong Pattern = 0x8877665544332211;

    /// <summary>Byte offset of a (private) field, as the runtime lays the struct out.</summary>
    public static int OffsetOf<T>(string field) => checked((int)Marshal.OffsetOf<T>(field));

    public static byte[] BytesOf<T>(T value) where T : unmanaged => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(ref value)).ToArray();

    /// <summary>
    /// Asserts the struct's size and that its fields are exactly <paramref name="fields"/>, at those
    /// offsets. A public constant named after a field plus "Offset" (_hdrLen: HdrLenOffset) must agree,
    /// and so must the Size or HeaderSize constant.
    /// </summary>
    public static void Layout<T>(int size, params (string Field, int Offset)[] fields) where T : unmanaged
    {
        var type = typeof(T);
        var problems = new List<string>();
        if (Unsafe.SizeOf<T>() != size)
        {
            problems.Add($"size is {Unsafe.SizeOf<T>()}, expected {size}");
        }

        foreach (var name in new[] { "Size", "HeaderSize" })
        {
            if (type.GetField(name, BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } sizeConstant && (int)sizeConstant.GetRawConstantValue()! != size)
            {
                problems.Add($"{name} constant is {sizeConstant.GetRawConstantValue()}, expected {size}");
            }
        }

        var declared = type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Select(f => f.Name).Order(StringComparer.Ordinal);
        var listed = fields.Select(f => f.Field).Order(StringComparer.Ordinal);
        if (!declared.SequenceEqual(listed))
        {
            problems.Add($"fields are [{string.Join(", ", declared)}], the test lists [{string.Join(", ", listed)}]");
        }

        foreach (var (field, offset) in fields)
        {
            if (type.GetField(field, BindingFlags.Instance | BindingFlags.NonPublic) is null)
            {
                continue;
            }

            var actual = OffsetOf<T>(field);
            if (actual != offset)
            {
                problems.Add($"{field} is at {actual}, expected {offset}");
            }

            var constantName = char.ToUpperInvariant(field[1]) + field[2..] + "Offset";
            if (type.GetField(constantName, BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } constant && (int)constant.GetRawConstantValue()! != offset)
            {
                problems.Add($"{constantName} is {constant.GetRawConstantValue()}, expected {offset}");
            }
        }

        Assert.True(problems.Count == 0, $"{type.Name}: {string.Join("; ", problems)}");
    }

    /// <summary>
    /// Writing <paramref name="name"/> through its accessor stores little-endian bytes at
    /// <paramref name="offset"/> and touches nothing else; reading those bytes back gives the value.
    /// </summary>
    public static void LittleEndianField<T>(string name, int offset, int width, FieldSetter<T> set, Func<T, ulong> get)
        where T : unmanaged => FieldByteOrder(name, offset, width, set, get, littleEndian: true);

    /// <summary>As <see cref="LittleEndianField{T}"/>, for the native-order fields of vhost-user.</summary>
    public static void NativeEndianField<T>(string name, int offset, int width, FieldSetter<T> set, Func<T, ulong> get)
        where T : unmanaged => FieldByteOrder(name, offset, width, set, get, BitConverter.IsLittleEndian);

    private static void FieldByteOrder<T>(string name, int offset, int width, FieldSetter<T> set, Func<T, ulong> get, bool littleEndian)
        where T : unmanaged
    {
        var value = width == sizeof(ulong) ? Pattern : Pattern & ((1UL << (8 * width)) - 1);
        var expected = new byte[Unsafe.SizeOf<T>()];
        for (var i = 0; i < width; i++)
        {
            var shift = 8 * (littleEndian ? i : width - 1 - i);
            expected[offset + i] = (byte)((value >> shift) & 0xFF);
        }

        var written = default(T);
        set(ref written, value);
        var actual = BytesOf(written);
        Assert.True(
            expected.AsSpan().SequenceEqual(actual),
            $"{typeof(T).Name}.{name} = 0x{value:X}: expected bytes {Convert.ToHexString(expected)}, got {Convert.ToHexString(actual)}");

        var read = MemoryMarshal.Read<T>(expected);
        Assert.True(get(read) == value, $"{typeof(T).Name}.{name} read 0x{get(read):X} from {Convert.ToHexString(expected)}, expected 0x{value:X}");
    }
}
