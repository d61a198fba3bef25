using IoVirt.Abi.Virtio;
using IoVirt.Interop;

namespace IoVirt.Machine.Pci;

/// <summary>
/// What does a virtio device's work behind a transport: an in-process device model or a
/// vhost-user back end. The transport negotiates with the driver and hands over the rings.
/// </summary>
public interface IVirtioBackend : IDisposable
{
    VirtioDeviceId DeviceId { get; }

    /// <summary>PCI class code (class, subclass, interface) the device shows.</summary>
    uint PciClass { get; }

    /// <summary>Feature bits offered to the driver.</summary>
    ulong Features { get; }

    int QueueCount { get; }

    int MaxQueueSize { get; }

    void ReadConfig(uint offset, Span<byte> data);

    void WriteConfig(uint offset, ReadOnlySpan<byte> data);

    /// <summary>
    /// The driver set DRIVER_OK: start the rings with the features it accepted. Throws
    /// <see cref="VirtioBackendException"/> when the back end cannot, and the device then
    /// tells the driver it needs a reset.
    /// </summary>
    void Activate(ulong features, IReadOnlyList<VirtioQueueSetup> queues);

    /// <summary>The driver reset the device: stop the rings.</summary>
    void Reset();
}

/// <summary>A ring the driver enabled: its size, the guest-physical addresses of its three parts, and its notifications.</summary>
public sealed record VirtioQueueSetup(int Index, int Size, ulong Descriptors, ulong Driver, ulong Device, EventFd Kick, EventFd? Interrupt);

/// <summary>A back end could not do what the transport asked.</summary>
public sealed class VirtioBackendException(string message, Exception? inner = null) : Exception(message, inner);
