namespace IoVirt.Virtqueue.Driver;

/// <summary>A buffer the driver offers: guest address, length and direction (writable = for the device to fill).</summary>
public readonly record struct DriverBuffer(ulong Address, uint Length, bool IsWritable);
