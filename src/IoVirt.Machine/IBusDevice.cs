namespace IoVirt.Machine;

/// <summary>
/// A device on the port or MMIO bus. Offsets are from the start of the range the device was
/// added at; <c>data.Length</c> is the access width (1, 2, 4 or 8). vCPU threads call these
/// concurrently, so a device serialises what it must.
/// </summary>
public interface IBusDevice
{
    void Read(ulong offset, Span<byte> data);

    void Write(ulong offset, ReadOnlySpan<byte> data);
}
