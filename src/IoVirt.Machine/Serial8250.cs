namespace IoVirt.Machine;

/// <summary>
/// A 16550A UART as the Linux 8250 driver probes and drives it: divisor latch, scratch,
/// loopback, FIFO identification, and the transmit-empty and receive interrupts on an edge of
/// its IRQ line. What the guest transmits goes to <paramref name="output"/> at once;
/// <see cref="Receive"/> queues input.
/// </summary>
public sealed class Serial8250(Stream output, Action<bool> setIrqLine) : IBusDevice
{
    public const ushort Com1Port = 0x3f8;
    public const uint Com1Irq = 4;
    public const int Length = 8;

    private const byte IerReceived = 0x01, IerTransmitEmpty = 0x02;
    private const byte IirNone = 0x01, IirTransmitEmpty = 0x02, IirReceived = 0x04, IirFifos = 0xc0;
    private const byte LcrDivisorLatch = 0x80;
    private const byte McrLoopback = 0x10;
    private const byte LsrDataReady = 0x01, LsrTransmitEmpty = 0x60;
    private const byte FcrEnable = 0x01, FcrClearReceive = 0x02;
    /// <summary>Carrier, data set ready and clear to send: a terminal is attached.</summary>
    private const byte MsrConnected = 0xb0;

    private readonly Lock _lock = new();
    private readonly Queue<byte> _received = new();
    private byte _ier, _lcr, _mcr, _scratch, _fcr, _divisorLow = 12, _divisorHigh;
    private bool _transmitEmptyPending;
    private bool _line;

    /// <summary>The DSDT's description of a UART at <paramref name="port"/> with ISA interrupt <paramref name="irq"/>.</summary>
    public static byte[] AcpiDevice(string name, ushort port, uint irq) => Aml.Device(
        name,
        Aml.Name("_HID", Aml.EisaId("PNP0501")),
        Aml.Name("_UID", Aml.Integer((ulong)(port == Com1Port ? 1 : 2))),
        Aml.Name("_CRS", Aml.ResourceTemplate(Aml.IoPorts(port, Length), Aml.Irq((int)irq))));

    /// <summary>Bytes for the guest to read, as if typed.</summary>
    public void Receive(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            foreach (var b in bytes)
            {
                _received.Enqueue(b);
            }

            UpdateLine();
        }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        lock (_lock)
        {
            data.Fill(ReadRegister((int)offset));
            UpdateLine();
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            WriteRegister((int)offset, data[0]);
            UpdateLine();
        }
    }

    private bool DivisorLatch => (_lcr & LcrDivisorLatch) != 0;

    private byte ReadRegister(int register)
    {
        switch (register)
        {
            case 0 when DivisorLatch:
                return _divisorLow;
            case 0:
                return _received.TryDequeue(out var b) ? b : (byte)0;
            case 1 when DivisorLatch:
                return _divisorHigh;
            case 1:
                return _ier;
            case 2:
                var iir = Identify();
                if (iir == IirTransmitEmpty)
                {
                    _transmitEmptyPending = false; // reading IIR acknowledges THRE
                }

                return (byte)(iir | ((_fcr & FcrEnable) != 0 ? IirFifos : 0));
            case 3:
                return _lcr;
            case 4:
                return _mcr;
            case 5:
                return (byte)(LsrTransmitEmpty | (_received.Count > 0 ? LsrDataReady : 0));
            case 6:
                return (_mcr & McrLoopback) != 0 ? LoopedModemStatus() : MsrConnected;
            default:
                return _scratch;
        }
    }

    private void WriteRegister(int register, byte value)
    {
        switch (register)
        {
            case 0 when DivisorLatch:
                _divisorLow = value;
                break;
            case 0:
                if ((_mcr & McrLoopback) != 0)
                {
                    _received.Enqueue(value);
                }
                else
                {
                    output.WriteByte(value);
                    if (value == (byte)'\n')
                    {
                        output.Flush();
                    }
                }

                _transmitEmptyPending = true;
                break;
            case 1 when DivisorLatch:
                _divisorHigh = value;
                break;
            case 1:
                // Enabling the transmit-empty interrupt with the holding register empty raises it.
                if ((value & IerTransmitEmpty) != 0 && (_ier & IerTransmitEmpty) == 0)
                {
                    _transmitEmptyPending = true;
                }

                _ier = (byte)(value & 0x0f);
                break;
            case 2:
                _fcr = value;
                if ((value & FcrClearReceive) != 0)
                {
                    _received.Clear();
                }

                break;
            case 3:
                _lcr = value;
                break;
            case 4:
                _mcr = (byte)(value & 0x1f);
                break;
            case 7:
                _scratch = value;
                break;
        }
    }

    /// <summary>The highest-priority pending interrupt, as IIR's low bits.</summary>
    private byte Identify()
    {
        if ((_ier & IerReceived) != 0 && _received.Count > 0)
        {
            return IirReceived;
        }

        return (_ier & IerTransmitEmpty) != 0 && _transmitEmptyPending ? IirTransmitEmpty : IirNone;
    }

    /// <summary>In loopback the modem outputs (DTR, RTS, OUT1, OUT2) read back as DSR, CTS, RI, DCD.</summary>
    private byte LoopedModemStatus() =>
        (byte)(((_mcr & 0x01) << 5) | ((_mcr & 0x02) << 3) | ((_mcr & 0x04) << 4) | ((_mcr & 0x08) << 4));

    private void UpdateLine()
    {
        var pending = Identify() != IirNone;
        if (pending != _line)
        {
            _line = pending;
            setIrqLine(pending);
        }
    }
}
