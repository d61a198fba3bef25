namespace IoVirt.Machine;

/// <summary>
/// The ports the FADT names for reset and sleep (hardware-reduced ACPI), one of which is the
/// keyboard controller's reset pulse: a guest reboot or poweroff ends up here and stops the
/// machine. Reads give 0 (controller not busy, no wake status).
/// </summary>
public static class PowerControl
{
    /// <summary>Port 0x64, the 8042's command port: 0xFE pulses the reset line (Linux's reboot=k, and our ACPI reset register).</summary>
    public const ushort ResetPort = 0x64;
    public const byte ResetValue = 0xfe;

    /// <summary>The sleep control and status registers.</summary>
    public const ushort SleepControlPort = 0x600, SleepStatusPort = 0x601;

    /// <summary>SLP_TYP of \_S5 in our DSDT.</summary>
    public const byte SoftOffType = 5;

    private const byte SleepEnable = 1 << 5;

    /// <summary>Puts both registers on <paramref name="ports"/>; <paramref name="stop"/> is called on reset or poweroff.</summary>
    public static void Attach(IoBus ports, Action<MachineExit> stop)
    {
        ports.Add(ResetPort, 1, new Register(value => value == ResetValue ? MachineExit.Reset : null, stop));
        ports.Add(SleepControlPort, 2, new Register(
            value => (value & SleepEnable) != 0 && ((value >> 2) & 7) == SoftOffType ? MachineExit.PowerOff : null, stop));
    }

    private sealed class Register(Func<byte, MachineExit?> decode, Action<MachineExit> stop) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data) => data.Clear();

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            if (offset == 0 && decode(data[0]) is { } exit)
            {
                stop(exit);
            }
        }
    }
}
