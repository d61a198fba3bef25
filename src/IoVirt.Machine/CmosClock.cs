namespace IoVirt.Machine;

/// <summary>
/// The MC146818 real-time clock and CMOS RAM at ports 0x70 (index) and 0x71 (data): the time
/// in BCD and 24-hour mode, never mid-update, so the guest's clock starts at the host's time.
/// </summary>
public sealed class CmosClock(TimeProvider time) : IBusDevice
{
    public const ushort Port = 0x70;
    public const int Length = 2;

    private const byte Seconds = 0x00, Minutes = 0x02, Hours = 0x04, Weekday = 0x06, Day = 0x07, Month = 0x08, Year = 0x09;
    private const byte StatusA = 0x0a, StatusB = 0x0b, StatusC = 0x0c, StatusD = 0x0d, Century = 0x32;

    private readonly Lock _lock = new();
    private readonly byte[] _ram = new byte[128];
    private byte _index;

    public void Read(ulong offset, Span<byte> data)
    {
        lock (_lock)
        {
            data.Fill(offset == 1 ? Register(_index) : (byte)0xff);
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            if (offset == 0)
            {
                _index = (byte)(data[0] & 0x7f); // bit 7 masks NMIs; nothing to mask here
            }
            else if (_index is not (StatusA or StatusB or StatusC or StatusD) && _index >= 0x0e)
            {
                _ram[_index] = data[0];
            }
        }
    }

    private byte Register(byte index)
    {
        var now = time.GetUtcNow();
        return index switch
        {
            Seconds => Bcd(now.Second),
            Minutes => Bcd(now.Minute),
            Hours => Bcd(now.Hour),
            Weekday => Bcd((int)now.DayOfWeek + 1),
            Day => Bcd(now.Day),
            Month => Bcd(now.Month),
            Year => Bcd(now.Year % 100),
            Century => Bcd(now.Year / 100),
            StatusA => 0x26, // 32.768 kHz time base, 1024 Hz rate, no update in progress
            StatusB => 0x02, // 24-hour, BCD, no interrupts
            StatusC => 0x00,
            StatusD => 0x80, // battery good
            _ => _ram[index],
        };
    }

    private static byte Bcd(int value) => (byte)(((value / 10) << 4) | (value % 10));
}
