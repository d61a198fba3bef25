using IoVirt.Machine;
using Microsoft.Extensions.Time.Testing;

namespace IoVirt.Tests.Machine;

public sealed class CmosClockTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 17, 5, 9, TimeSpan.Zero));
    private readonly CmosClock _clock;

    public CmosClockTests() => _clock = new CmosClock(_time);

    [Fact]
    public void Reads_the_host_time_in_bcd_and_never_mid_update()
    {
        Assert.Equal(0x09, Register(0x00));
        Assert.Equal(0x05, Register(0x02));
        Assert.Equal(0x17, Register(0x04));
        Assert.Equal(0x03, Register(0x07));
        Assert.Equal(0x12, Register(0x08));
        Assert.Equal(0x26, Register(0x09));
        Assert.Equal(0x20, Register(0x32));
        Assert.Equal(0, Register(0x0a) & 0x80);
        Assert.Equal(0x02, Register(0x0b));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0x11, Register(0x00));
    }

    [Fact]
    public void Cmos_ram_keeps_what_is_written_but_status_registers_do_not_change()
    {
        _clock.Write(0, [0x40]);
        _clock.Write(1, [0x5a]);
        Assert.Equal(0x5a, Register(0x40));
        _clock.Write(0, [0x0b | 0x80]); // bit 7, NMI masking, is not part of the index
        _clock.Write(1, [0xff]);
        Assert.Equal(0x02, Register(0x0b));
    }

    private byte Register(byte index)
    {
        _clock.Write(0, [index]);
        Span<byte> data = stackalloc byte[1];
        _clock.Read(1, data);
        return data[0];
    }
}
