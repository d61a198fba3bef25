using System.Buffers.Binary;
using System.Text;

namespace IoVirt.Machine;

/// <summary>
/// Just enough of the ACPI Machine Language encoder (ACPI 6.5, chapter 20) to describe a PC's
/// devices in the DSDT: names, scopes, devices, integers, strings, packages, EISA IDs and
/// resource templates. Each method returns the encoded bytes of one term.
/// </summary>
public static class Aml
{
    private const byte ZeroOp = 0x00, OneOp = 0x01, NameOp = 0x08, BytePrefix = 0x0a, WordPrefix = 0x0b, DWordPrefix = 0x0c;
    private const byte StringPrefix = 0x0d, QWordPrefix = 0x0e, ScopeOp = 0x10, BufferOp = 0x11, PackageOp = 0x12;
    private const byte ExtOpPrefix = 0x5b, DeviceOp = 0x82, RootChar = (byte)'\\';

    /// <summary>Name(<paramref name="name"/>, <paramref name="value"/>).</summary>
    public static byte[] Name(string name, byte[] value) => [NameOp, .. NameString(name), .. value];

    /// <summary>Scope(<paramref name="path"/>) { <paramref name="terms"/> }.</summary>
    public static byte[] Scope(string path, params byte[][] terms) => [ScopeOp, .. Package([.. NameString(path), .. Concat(terms)])];

    /// <summary>Device(<paramref name="name"/>) { <paramref name="terms"/> }.</summary>
    public static byte[] Device(string name, params byte[][] terms) => [ExtOpPrefix, DeviceOp, .. Package([.. NameString(name), .. Concat(terms)])];

    /// <summary>The shortest integer encoding of <paramref name="value"/>.</summary>
    public static byte[] Integer(ulong value) => value switch
    {
        0 => [ZeroOp],
        1 => [OneOp],
        <= byte.MaxValue => [BytePrefix, (byte)value],
        <= ushort.MaxValue => [WordPrefix, .. Little(value, 2)],
        <= uint.MaxValue => [DWordPrefix, .. Little(value, 4)],
        _ => [QWordPrefix, .. Little(value, 8)],
    };

    public static byte[] String(string value) => [StringPrefix, .. Encoding.ASCII.GetBytes(value), 0];

    /// <summary>Package() { <paramref name="elements"/> } (at most 255 elements).</summary>
    public static byte[] PackageOf(params byte[][] elements) => [PackageOp, .. Package([(byte)elements.Length, .. Concat(elements)])];

    /// <summary>EISAID("PNP0A03"): three letters and four hex digits compressed into a DWord.</summary>
    public static byte[] EisaId(string id)
    {
        if (id.Length != 7 || !id[..3].All(char.IsAsciiLetterUpper) || !ushort.TryParse(id[3..], System.Globalization.NumberStyles.HexNumber, null, out var product))
        {
            throw new ArgumentException($"'{id}' is not an EISA ID (three capital letters and four hex digits)", nameof(id));
        }

        var vendor = (ushort)(((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) | (id[2] - 0x40));
        return [DWordPrefix, (byte)(vendor >> 8), unchecked((byte)vendor), (byte)(product >> 8), unchecked((byte)product)];
    }

    /// <summary>ResourceTemplate() { <paramref name="descriptors"/> }: a buffer of descriptors closed by an end tag.</summary>
    public static byte[] ResourceTemplate(params byte[][] descriptors)
    {
        byte[] body = [.. Concat(descriptors), 0x79, 0x00];
        return [BufferOp, .. Package([.. Integer((ulong)body.Length), .. body])];
    }

    /// <summary>IO(Decode16, base, base, 1, length): a fixed range of ports.</summary>
    public static byte[] IoPorts(ushort start, byte length) =>
        [0x47, 0x01, .. Little(start, 2), .. Little(start, 2), 0x01, length];

    /// <summary>IRQNoFlags() { irq }: an edge-triggered, active-high ISA interrupt.</summary>
    public static byte[] Irq(int irq) => [0x22, .. Little(1UL << irq, 2)];

    /// <summary>WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, ...): the buses a bridge decodes.</summary>
    public static byte[] BusNumbers(ushort first, ushort last) => WordAddress(2, 0, first, last);

    /// <summary>WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, ...): ports a bridge forwards.</summary>
    public static byte[] IoWindow(ushort first, ushort last) => WordAddress(1, 3, first, last);

    /// <summary>DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, ...): addresses a bridge forwards.</summary>
    public static byte[] MemoryWindow(ulong first, ulong last) =>
        [0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, .. Little(0, 4), .. Little(first, 4), .. Little(last, 4), .. Little(0, 4), .. Little(last - first + 1, 4)];

    /// <summary>A Word Address Space Descriptor (6.4.3.5.3) of <paramref name="type"/> 0 memory, 1 I/O, 2 bus.</summary>
    private static byte[] WordAddress(byte type, byte typeFlags, ushort first, ushort last) =>
        [0x88, 0x0d, 0x00, type, 0x0c, typeFlags, 0x00, 0x00, .. Little(first, 2), .. Little(last, 2), 0x00, 0x00, .. Little((ulong)(last - first + 1), 2)];

    /// <summary>
    /// PkgLength (20.2.4) followed by <paramref name="content"/>: the length counts its own
    /// bytes, one to four of them.
    /// </summary>
    private static byte[] Package(byte[] content)
    {
        var n = content.Length;
        if (n + 1 <= 0x3f)
        {
            return [(byte)(n + 1), .. content];
        }

        for (var extra = 1; extra <= 3; extra++)
        {
            var total = n + 1 + extra;
            if (total < 1 << (4 + (8 * extra)))
            {
                var lead = new byte[1 + extra];
                lead[0] = (byte)((extra << 6) | (total & 0xf));
                for (var i = 1; i <= extra; i++)
                {
                    lead[i] = unchecked((byte)(total >> (4 + (8 * (i - 1)))));
                }

                return [.. lead, .. content];
            }
        }

        throw new ArgumentException("an AML package may hold at most 2^28 bytes");
    }

    /// <summary>A name segment ("_HID", "COM1"; shorter names are padded with '_') or "\" and one segment.</summary>
    private static byte[] NameString(string name)
    {
        var root = name.StartsWith('\\');
        var segment = root ? name[1..] : name;
        if (segment.Length is 0 or > 4 || !segment.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_') || char.IsAsciiDigit(segment[0]))
        {
            throw new ArgumentException($"'{name}' is not an AML name segment", nameof(name));
        }

        var bytes = Encoding.ASCII.GetBytes(segment.PadRight(4, '_'));
        return root ? [RootChar, .. bytes] : bytes;
    }

    private static byte[] Little(ulong value, int width)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes[..width];
    }

    private static byte[] Concat(byte[][] parts) => [.. parts.SelectMany(part => part)];
}
