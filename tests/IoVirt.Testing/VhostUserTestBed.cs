using IoVirt.Devices;
using IoVirt.Memory;
using IoVirt.VhostUser;

namespace IoVirt.Testing;

/// <summary>
/// A back end serving <see cref="Device"/> on a fresh socket path, and memfd guest memory a
/// front end can share with it. Front end and back end talk over a real Unix socket.
/// </summary>
public sealed class VhostUserTestBed : IDisposable
{
    /// <summary>Guest-physical base of the shared memory.</summary>
    public const ulong MemoryBase = 0x4000_0000;

    public const ulong MemorySize = 4 << 20;

    private readonly string _directory;

    public VhostUserTestBed(VirtioDeviceModel device)
    {
        Device = device;
        _directory = Directory.CreateTempSubdirectory("iovirt-vu-").FullName;
        SocketPath = Path.Combine(_directory, "device.sock");
        Server = new VhostUserServer(SocketPath, device, Log);
        Server.Start();
        Memory = new GuestMemory(GuestRegion.CreateMemfd(MemoryBase, MemorySize, "iovirt-test-guest"));
    }

    public VirtioDeviceModel Device { get; private set; }

    public string SocketPath { get; }

    public RecordingLogger Log { get; } = new();

    public VhostUserServer Server { get; private set; }

    public GuestMemory Memory { get; }

    /// <summary>Where rings go (the first megabyte); buffers go above <see cref="DataBase"/>.</summary>
    public static ulong RingBase(uint queue) => MemoryBase + (queue * 0x2_0000UL);

    public const ulong DataBase = MemoryBase + (1 << 20);

    public VhostUserFrontend Connect() => VhostUserFrontend.Connect(SocketPath);

    /// <summary>Stops the back end (as if its process died) and starts a new one with <paramref name="device"/> on the same socket.</summary>
    public void RestartServer(VirtioDeviceModel device)
    {
        Server.Dispose();
        Device = device;
        Server = new VhostUserServer(SocketPath, device, Log);
        Server.Start();
    }

    public void Dispose()
    {
        Server.Dispose();
        Memory.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
