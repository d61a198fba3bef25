using System.Text;
using IoVirt.Machine;

namespace IoVirt.Tests.Machine;

/// <summary>The UART as Linux's 8250 driver finds and drives it (drivers/tty/serial/8250/8250_port.c).</summary>
public sealed class Serial8250Tests
{
    private const int Rbr = 0, Ier = 1, Iir = 2, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;

    private readonly MemoryStream _output = new();
    private readonly List<bool> _edges = [];
    private readonly Serial8250 _uart;

    public Serial8250Tests() => _uart = new Serial8250(_output, _edges.Add);

    [Fact]
    public void Passes_the_drivers_probe_as_a_16550a()
    {
        Write(Scr, 0xa5);
        Assert.Equal(0xa5, Read(Scr));
        Write(Mcr, 0x1a); // loopback with RTS and OUT2
        Assert.Equal(0x90, Read(Msr) & 0xf0);
        Write(Mcr, 0x00);
        Assert.Equal(0xb0, Read(Msr) & 0xf0);
        Write(Fcr, 0x07);
        Assert.Equal(0xc0, Read(Iir) & 0xc0);
        Write(Lcr, 0x80);
        Write(Rbr, 0x01);
        Write(Ier, 0x00);
        Write(Lcr, 0x03);
        Write(Rbr, (byte)'x');
        Assert.Equal("x", Output());
        Assert.Equal(0x60, Read(Lsr));
    }

    [Fact]
    public void Transmit_empty_interrupt_rises_on_enable_and_after_each_byte_and_falls_when_acknowledged()
    {
        Write(Ier, 0x02);
        Assert.Equal([true], _edges);
        Assert.Equal(0x02, Read(Iir) & 0x0f);
        Assert.Equal([true, false], _edges);
        Assert.Equal(0x01, Read(Iir) & 0x0f);
        Write(Rbr, (byte)'a');
        Write(Rbr, (byte)'b');
        Assert.Equal([true, false, true], _edges);
        Assert.Equal("ab", Output());
    }

    [Fact]
    public void Received_bytes_raise_the_data_interrupt_until_read()
    {
        Write(Ier, 0x01);
        _uart.Receive("hi"u8);
        Assert.Equal([true], _edges);
        Assert.Equal(0x04, Read(Iir) & 0x0f);
        Assert.Equal(0x61, Read(Lsr));
        Assert.Equal((byte)'h', Read(Rbr));
        Assert.Equal((byte)'i', Read(Rbr));
        Assert.Equal(0x60, Read(Lsr));
        Assert.Equal([true, false], _edges);
    }

    [Fact]
    public void Loopback_keeps_output_from_the_console()
    {
        Write(Mcr, 0x10);
        Write(Rbr, 0x55);
        Assert.Equal(0x55, Read(Rbr));
        Assert.Equal(string.Empty, Output());
    }

    private void Write(int register, byte value) => _uart.Write((ulong)register, [value]);

    private byte Read(int register)
    {
        Span<byte> data = stackalloc byte[1];
        _uart.Read((ulong)register, data);
        return data[0];
    }

    private string Output() => Encoding.ASCII.GetString(_output.ToArray());
}
