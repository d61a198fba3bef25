using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace IoVirt.Backends.Net;

/// <summary>
/// An Ethernet MAC address, the one type every layer uses: the command line and mux file (text
/// such as 52:54:00:12:34:56), the device and its config space, the receive filter, the switch's
/// table and the ports. Held as one 64-bit word (the six bytes in transmission order from the
/// least significant byte), so comparing, hashing and copying one is a single machine word.
/// </summary>
public readonly struct MacAddress : IEquatable<MacAddress>, ISpanFormattable
{
    public const int Length = 6;

    private const ulong Mask = (1UL << 48) - 1;

    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value & Mask;

    public static MacAddress Broadcast => new(Mask);

    /// <summary>The group bit: multicast and broadcast addresses have it; a station's own address never does.</summary>
    public bool IsMulticast => (_value & 1) != 0;

    public bool IsBroadcast => _value == Mask;

    /// <summary>The address as a 48-bit number, for keys that pack more beside it (a VLAN).</summary>
    internal ulong Bits => _value;

    /// <summary>The address whose <see cref="Bits"/> are the low 48 bits of <paramref name="bits"/>.</summary>
    internal static MacAddress FromBits(ulong bits) => new(bits);

    /// <summary>The first six bytes of <paramref name="bytes"/> (a frame's destination, an address on the wire).</summary>
    public static MacAddress Read(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(bytes) | ((ulong)BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]) << 32));

    /// <summary>Writes the six bytes in transmission order.</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, unchecked((uint)_value));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], (ushort)(_value >> 32));
    }

    /// <summary>Parses six two-digit hex bytes separated by colons (case-insensitive).</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out MacAddress address)
    {
        address = default;
        if (text is not { Length: (Length * 3) - 1 })
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Length];
        for (var i = 0; i < Length; i++)
        {
            if ((i > 0 && text[(i * 3) - 1] != ':')
                || !byte.TryParse(text.AsSpan(i * 3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
            {
                return false;
            }
        }

        address = Read(bytes);
        return true;
    }

    /// <summary>As <see cref="TryParse"/>, and only a unicast address (what a device's own MAC must be).</summary>
    public static bool TryParseUnicast([NotNullWhen(true)] string? text, out MacAddress address) =>
        TryParse(text, out address) && !address.IsMulticast;

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format = default, IFormatProvider? provider = null)
    {
        charsWritten = 0;
        if (destination.Length < (Length * 3) - 1)
        {
            return false;
        }

        for (var i = 0; i < Length; i++)
        {
            if (i > 0)
            {
                destination[(i * 3) - 1] = ':';
            }

            unchecked((byte)(_value >> (8 * i))).TryFormat(destination[(i * 3)..], out _, "x2", CultureInfo.InvariantCulture);
        }

        charsWritten = (Length * 3) - 1;
        return true;
    }

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public override string ToString() => string.Create((Length * 3) - 1, this, static (chars, address) => address.TryFormat(chars, out _));

    public bool Equals(MacAddress other) => _value == other._value;

    public override bool Equals(object? obj) => obj is MacAddress other && Equals(other);

    public override int GetHashCode() => _value.GetHashCode();

    public static bool operator ==(MacAddress left, MacAddress right) => left.Equals(right);

    public static bool operator !=(MacAddress left, MacAddress right) => !left.Equals(right);
}
