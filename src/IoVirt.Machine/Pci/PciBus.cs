using System.Buffers.Binary;

namespace IoVirt.Machine.Pci;

/// <summary>
/// PCI bus 0 behind configuration mechanism #1: the address register at port 0xCF8 and the
/// data window at 0xCFC-0xCFF. Function 0 of each of the 32 slots; slot 0 is the host bridge.
/// Also hands out BAR addresses in the PCI hole, as firmware would before the OS starts.
/// </summary>
public sealed class PciBus : IBusDevice
{
    public const ushort Port = 0xcf8;
    public const int Length = 8;
    public const int Slots = 32;

    private const uint Enable = 0x8000_0000;

    private readonly Lock _lock = new();
    private readonly PciConfigSpace?[] _slots = new PciConfigSpace?[Slots];
    private uint _address;
    private ulong _nextBar = GuestLayout.PciHoleStart;

    public PciBus()
    {
        // A host bridge (class 06/00) with Red Hat's ID for a generic one, as QEMU's gpex.
        _slots[0] = new PciConfigSpace(0x1b36, 0x0008, 0x06_00_00, 0, 0x1b36, 0x0008);
    }

    /// <summary>The memory window BARs are placed in (and the DSDT's host bridge decodes).</summary>
    public static (ulong Start, ulong End) MemoryWindow => (GuestLayout.PciHoleStart, GuestLayout.IoApicAddress);

    /// <summary>Puts <paramref name="device"/> in the first free slot and returns the slot.</summary>
    public int Add(PciConfigSpace device)
    {
        lock (_lock)
        {
            var slot = Array.IndexOf(_slots, null);
            if (slot < 0)
            {
                throw new InvalidOperationException($"all {Slots} PCI slots are taken");
            }

            _slots[slot] = device;
            return slot;
        }
    }

    /// <summary>A naturally aligned address for a BAR of <paramref name="size"/> bytes.</summary>
    public ulong AllocateBar(ulong size)
    {
        lock (_lock)
        {
            var address = (_nextBar + size - 1) & ~(size - 1);
            if (address + size > MemoryWindow.End)
            {
                throw new InvalidOperationException("the PCI memory window is full");
            }

            _nextBar = address + size;
            return address;
        }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (offset < 4)
        {
            Span<byte> address = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(address, Volatile.Read(ref _address));
            Copy(address, (int)offset, data);
            return;
        }

        if (Target(out var register) is { } device)
        {
            device.Read(register + (int)(offset - 4), data);
        }
        else
        {
            data.Fill(0xff);
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset == 0 && data.Length == 4)
        {
            Volatile.Write(ref _address, BinaryPrimitives.ReadUInt32LittleEndian(data));
        }
        else if (offset >= 4 && Target(out var register) is { } device)
        {
            device.Write(register + (int)(offset - 4), data);
        }
    }

    /// <summary>The device and dword-aligned register the address register selects: enabled, bus 0, function 0.</summary>
    private PciConfigSpace? Target(out int register)
    {
        var address = Volatile.Read(ref _address);
        register = (int)(address & 0xfc);
        var bus = (address >> 16) & 0xff;
        var slot = (address >> 11) & 0x1f;
        var function = (address >> 8) & 0x7;
        return (address & Enable) != 0 && bus == 0 && function == 0 ? Volatile.Read(ref _slots[slot]) : null;
    }

    private static void Copy(ReadOnlySpan<byte> register, int offset, Span<byte> data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = offset + i < register.Length ? register[offset + i] : (byte)0xff;
        }
    }

    /// <summary>The DSDT's host bridge: bus 0, the configuration ports, and the I/O and memory windows.</summary>
    public static byte[] AcpiDevice() => Aml.Device(
        "PCI0",
        Aml.Name("_HID", Aml.EisaId("PNP0A03")),
        Aml.Name("_UID", Aml.Integer(0)),
        Aml.Name("_SEG", Aml.Integer(0)),
        Aml.Name("_BBN", Aml.Integer(0)),
        Aml.Name("_CRS", Aml.ResourceTemplate(
            Aml.BusNumbers(0, 0),
            Aml.IoPorts(Port, Length),
            Aml.IoWindow(0x0000, 0x0cf7),
            Aml.IoWindow(0x0d00, 0xffff),
            Aml.MemoryWindow(MemoryWindow.Start, MemoryWindow.End - 1))));
}
