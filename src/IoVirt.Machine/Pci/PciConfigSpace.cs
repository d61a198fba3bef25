using System.Buffers.Binary;

namespace IoVirt.Machine.Pci;

/// <summary>
/// A type 0 PCI configuration header and its capability list: 256 bytes, with a mask of the
/// bits the driver may write. Memory BARs are 32-bit, sized by the usual all-ones probe; one
/// that moves (or whose decoding is switched) is reported through <see cref="BarChanged"/>.
/// </summary>
public sealed class PciConfigSpace
{
    public const int Size = 256;
    public const int VendorIdOffset = 0x00, DeviceIdOffset = 0x02, CommandOffset = 0x04, StatusOffset = 0x06;
    public const int RevisionOffset = 0x08, ClassOffset = 0x09, HeaderTypeOffset = 0x0e, Bar0Offset = 0x10;
    public const int SubsystemVendorOffset = 0x2c, SubsystemIdOffset = 0x2e, CapabilitiesOffset = 0x34;
    public const int InterruptLineOffset = 0x3c, InterruptPinOffset = 0x3d;
    public const ushort CommandMemory = 0x2, CommandBusMaster = 0x4, CommandInterruptDisable = 0x400;
    public const ushort StatusCapabilities = 0x10;
    private const int FirstCapability = 0x40;

    private readonly Lock _lock = new();
    private readonly byte[] _bytes = new byte[Size];
    private readonly byte[] _writable = new byte[Size];
    private readonly ulong[] _barSizes = new ulong[6];
    private readonly List<(int Offset, int Length, IBusDevice Device)> _windows = [];
    private int _nextCapability = FirstCapability;
    private int _lastCapabilityNext = CapabilitiesOffset;

    public PciConfigSpace(ushort vendor, ushort device, uint classCode, byte revision, ushort subsystemVendor, ushort subsystem)
    {
        U16(VendorIdOffset, vendor);
        U16(DeviceIdOffset, device);
        _bytes[RevisionOffset] = revision;
        _bytes[ClassOffset] = unchecked((byte)classCode);
        _bytes[ClassOffset + 1] = unchecked((byte)(classCode >> 8));
        _bytes[ClassOffset + 2] = unchecked((byte)(classCode >> 16));
        U16(SubsystemVendorOffset, subsystemVendor);
        U16(SubsystemIdOffset, subsystem);
        Writable(CommandOffset, 2, CommandMemory | CommandBusMaster | CommandInterruptDisable);
        Writable(InterruptLineOffset, 1, 0xff);
    }

    /// <summary>A BAR moved or its decoding changed: index, new address (0 when not decoding).</summary>
    public event Action<int, ulong>? BarChanged;

    /// <summary>A write landed in a capability the owner handles (MSI-X control): offset and length.</summary>
    public event Action<int, int>? CapabilityWritten;

    /// <summary>Declares BAR <paramref name="index"/> as 32-bit memory of <paramref name="size"/> bytes (a power of two) at <paramref name="address"/>, decoding.</summary>
    public void AddMemoryBar(int index, ulong size, ulong address)
    {
        if (!ulong.IsPow2(size) || size < 16 || address % size != 0 || address + size > 1UL << 32)
        {
            throw new ArgumentException($"a 32-bit BAR of 0x{size:x} bytes at 0x{address:x} is not naturally aligned below 4 GiB");
        }

        _barSizes[index] = size;
        U32(Bar0Offset + (4 * index), (uint)address);
        Writable(Bar0Offset + (4 * index), 4, ~(uint)(size - 1));
        U16(CommandOffset, (ushort)(U16(CommandOffset) | CommandMemory));
    }

    /// <summary>
    /// Appends a capability (its ID, then <paramref name="body"/> after the next pointer) and
    /// returns its offset; <paramref name="writableMask"/>, if given, covers the body.
    /// </summary>
    public int AddCapability(byte id, ReadOnlySpan<byte> body, ReadOnlySpan<byte> writableMask = default)
    {
        var at = _nextCapability;
        var length = 2 + body.Length;
        if (at + length > Size)
        {
            throw new InvalidOperationException("the capabilities outgrow the configuration space");
        }

        _bytes[at] = id;
        body.CopyTo(_bytes.AsSpan(at + 2));
        writableMask.CopyTo(_writable.AsSpan(at + 2));
        _bytes[_lastCapabilityNext] = (byte)at;
        _lastCapabilityNext = at + 1;
        _nextCapability = (at + length + 3) & ~3;
        U16(StatusOffset, StatusCapabilities);
        return at;
    }

    /// <summary>
    /// Hands reads and writes that fall wholly inside [<paramref name="offset"/>, +<paramref name="length"/>)
    /// to <paramref name="device"/> (offsets relative to the window), outside this space's lock:
    /// registers whose value is computed on access, such as virtio's PCI configuration access window.
    /// </summary>
    public void AddWindow(int offset, int length, IBusDevice device) => _windows.Add((offset, length, device));

    /// <summary>The current address of BAR <paramref name="index"/>, or 0 while memory decoding is off.</summary>
    public ulong BarAddress(int index)
    {
        lock (_lock)
        {
            return DecodedAddress(index);
        }
    }

    /// <summary>Bytes of the space, for the owner's own registers (capabilities).</summary>
    public void ReadRaw(int offset, Span<byte> data)
    {
        lock (_lock)
        {
            _bytes.AsSpan(offset, data.Length).CopyTo(data);
        }
    }

    public void WriteRaw(int offset, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            data.CopyTo(_bytes.AsSpan(offset));
        }
    }

    public void Read(int offset, Span<byte> data)
    {
        if (offset < 0 || offset + data.Length > Size)
        {
            data.Fill(0xff);
            return;
        }

        if (WindowAt(offset, data.Length) is { } window)
        {
            window.Device.Read((ulong)(offset - window.Offset), data);
            return;
        }

        ReadRaw(offset, data);
    }

    public void Write(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset + data.Length > Size)
        {
            return;
        }

        if (WindowAt(offset, data.Length) is { } window)
        {
            window.Device.Write((ulong)(offset - window.Offset), data);
            return;
        }

        var before = new ulong[6];
        lock (_lock)
        {
            for (var i = 0; i < 6; i++)
            {
                before[i] = DecodedAddress(i);
            }

            for (var i = 0; i < data.Length; i++)
            {
                var at = offset + i;
                _bytes[at] = (byte)((_bytes[at] & ~_writable[at]) | (data[i] & _writable[at]));
            }
        }

        for (var i = 0; i < 6; i++)
        {
            var after = BarAddress(i);
            if (_barSizes[i] != 0 && after != before[i])
            {
                BarChanged?.Invoke(i, after);
            }
        }

        if (offset >= FirstCapability)
        {
            CapabilityWritten?.Invoke(offset, data.Length);
        }
    }

    private (int Offset, int Length, IBusDevice Device)? WindowAt(int offset, int length)
    {
        foreach (var window in _windows)
        {
            if (offset >= window.Offset && offset + length <= window.Offset + window.Length)
            {
                return window;
            }
        }

        return null;
    }

    /// <summary>
    /// Where a BAR decodes: nowhere while memory decoding is off or while the driver sizes it
    /// (all ones written: the address would be the top of the 4 GiB space).
    /// </summary>
    private ulong DecodedAddress(int index)
    {
        var size = _barSizes[index];
        if (size == 0 || (U16(CommandOffset) & CommandMemory) == 0)
        {
            return 0;
        }

        var address = U32(Bar0Offset + (4 * index)) & ~(uint)(size - 1);
        return address + size > 0xffff_ffffUL ? 0 : address;
    }

    private void Writable(int offset, int length, uint mask) =>
        BinaryPrimitives.WriteUInt32LittleEndian(_writable.AsSpan(offset, 4), mask & (length == 4 ? 0xffff_ffff : (1u << (8 * length)) - 1));

    private ushort U16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(offset));

    private void U16(int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(_bytes.AsSpan(offset), value);

    private uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(offset));

    private void U32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(offset), value);
}
