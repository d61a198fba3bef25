namespace IoVirt.Virtqueue;

/// <summary>
/// A queue as the driver configured it: size and the guest-physical addresses of its three
/// parts (split: descriptor table, available ring, used ring; packed: descriptor ring, driver
/// event suppression, device event suppression), plus the negotiated ring features.
/// </summary>
public readonly record struct QueueConfig(
    int Size,
    ulong DescriptorTable,
    ulong DriverArea,
    ulong DeviceArea,
    bool EventIdx = false,
    bool IndirectDescriptors = false);
