using System.Buffers.Binary;

namespace IoVirt.Backends.Gpu;

/// <summary>
/// A 128-byte EDID 1.3 base block (VESA E-EDID) for one scanout: the preferred mode as the first
/// detailed timing, with reduced blanking at 60 Hz, a range-limits descriptor and a monitor name.
/// Enough for the guest to pick the mode; no extension blocks.
/// </summary>
internal static class Edid
{
    public const int Size = 128;

    private const int HorizontalBlank = 160;
    private const int HorizontalSyncOffset = 48;
    private const int HorizontalSyncWidth = 32;
    private const int VerticalSyncOffset = 3;
    private const int VerticalSyncWidth = 6;
    private const int RefreshHz = 60;

    /// <summary>Writes the block for a <paramref name="width"/> by <paramref name="height"/> display (each at most 4095).</summary>
    public static void Write(Span<byte> edid, uint width, uint height, int scanout)
    {
        edid[..Size].Clear();
        edid[0] = 0x00;
        edid[1..7].Fill(0xff);
        edid[7] = 0x00;
        // Manufacturer "IOV": three 5-bit letters (A = 1), big-endian.
        BinaryPrimitives.WriteUInt16BigEndian(edid[8..], (ushort)(('I' - '@') << 10 | ('O' - '@') << 5 | ('V' - '@')));
        BinaryPrimitives.WriteUInt16LittleEndian(edid[10..], 0x1234);
        BinaryPrimitives.WriteUInt32LittleEndian(edid[12..], (uint)scanout + 1);
        edid[16] = 1; // week
        edid[17] = 2026 - 1990;
        edid[18] = 1;
        edid[19] = 3;
        edid[20] = 0x80; // digital input
        edid[21] = (byte)Math.Min(255, width / 38); // size in cm at about 96 dpi
        edid[22] = (byte)Math.Min(255, height / 38);
        edid[23] = 120; // gamma 2.2
        edid[24] = 0x0a; // RGB colour, the first detailed timing is the preferred mode
        ReadOnlySpan<byte> srgbChromaticity = [0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50, 0x54];
        srgbChromaticity.CopyTo(edid[25..]);
        edid[38..54].Fill(0x01); // no standard timings
        DetailedTiming(edid.Slice(54, 18), width, height);
        RangeLimits(edid.Slice(72, 18));
        MonitorName(edid.Slice(90, 18), scanout);
        Dummy(edid.Slice(108, 18));
        edid[127] = Checksum(edid[..127]);
    }

    private static void DetailedTiming(Span<byte> d, uint width, uint height)
    {
        var verticalBlank = Math.Max(23U, height / 20);
        var clock10kHz = (ulong)(width + HorizontalBlank) * (ulong)(height + verticalBlank) * RefreshHz / 10_000;
        // The field holds at most 655.35 MHz; larger modes are clamped (the guest takes the size from
        // GET_DISPLAY_INFO as well).
        BinaryPrimitives.WriteUInt16LittleEndian(d, (ushort)Math.Min(ushort.MaxValue, clock10kHz + 1));
        d[2] = (byte)(width & 0xff);
        d[3] = HorizontalBlank & 0xff;
        d[4] = (byte)(((width >> 8) & 0xf) << 4 | ((HorizontalBlank >> 8) & 0xf));
        d[5] = (byte)(height & 0xff);
        d[6] = (byte)(verticalBlank & 0xff);
        d[7] = (byte)(((height >> 8) & 0xf) << 4 | ((verticalBlank >> 8) & 0xf));
        d[8] = HorizontalSyncOffset;
        d[9] = HorizontalSyncWidth;
        d[10] = VerticalSyncOffset << 4 | VerticalSyncWidth;
        d[11] = 0;
        var widthMm = width * 254 / 960;
        var heightMm = height * 254 / 960;
        d[12] = (byte)(widthMm & 0xff);
        d[13] = (byte)(heightMm & 0xff);
        d[14] = (byte)(((widthMm >> 8) & 0xf) << 4 | ((heightMm >> 8) & 0xf));
        d[17] = 0x1e; // digital separate sync, both polarities positive
    }

    private static void RangeLimits(Span<byte> d)
    {
        d[3] = 0xfd;
        d[5] = 50; // vertical Hz
        d[6] = 75;
        d[7] = 30; // horizontal kHz
        d[8] = 160;
        d[9] = 120; // pixel clock in 10 MHz units: 1.2 GHz covers 4095x4095 at 60 Hz
        d[10] = 0x01; // no secondary timing formula
        d[11] = 0x0a;
        d[12..18].Fill(0x20);
    }

    private static void MonitorName(Span<byte> d, int scanout)
    {
        d[3] = 0xfc;
        var name = $"IoVirt GPU {scanout}\n";
        d[5..18].Fill(0x20);
        for (var i = 0; i < name.Length && i < 13; i++)
        {
            d[5 + i] = (byte)name[i];
        }
    }

    private static void Dummy(Span<byte> d) => d[3] = 0x10;

    private static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        var sum = 0;
        foreach (var b in bytes)
        {
            sum += b;
        }

        return (byte)((256 - (sum & 0xff)) & 0xff);
    }
}
