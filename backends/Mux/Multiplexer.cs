using System.Text.Json;
using IoVirt.Arbitration;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Blk.Rbd;
using IoVirt.Backends.Blk.Volumes;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;
using IoVirt.Backends.Net.Switching;
using IoVirt.Devices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoVirt.Backends.Mux;

/// <summary>A device a <see cref="Multiplexer"/> serves: its socket, and how to make its model once a container's logging is there.</summary>
public sealed record MuxDevice(string Socket, Func<IServiceProvider, VirtioDeviceModel> Create);

/// <summary>
/// The wiring of many guests' devices in one process: the disks' volumes on one image (or each on
/// an RBD image of its own, for an image <c>rbd:POOL/PREFIX</c>; see <see cref="RbdVolumes"/>) behind one
/// <see cref="DeviceArbiter"/> (made only when there are disks), and the nics as ports of one
/// <see cref="NetSwitch"/> (with its uplink TAP, if any). <see cref="Open"/> opens everything
/// but serves nothing: a host serves <see cref="Devices"/> and reads <see cref="Report"/>. The
/// devices report to the <see cref="BlkMetrics"/> and <see cref="NetMetrics"/> of the container
/// that makes them, if it has them, by disk and nic name (the switch's ports too).
/// Disposing it closes the switch, the image and the arbiter, after the devices are gone.
/// </summary>
public sealed class Multiplexer : IDisposable
{
    private readonly TenantMetrics? _metrics;
    private readonly DeviceArbiter? _arbiter;
    private readonly IReadOnlyList<IBlockImage> _images;
    private readonly NetSwitch _switch;

    /// <summary>Where a disk's blocks are: its image, and its volume in it when the image is shared.</summary>
    private sealed record DiskImage(IBlockImage Image, BlockVolume? Volume);

    private Multiplexer(MuxSpec spec, TenantMetrics? metrics, DeviceArbiter? arbiter, IReadOnlyList<IBlockImage> images, DiskImage[] disks, BlockEngineKind? engine, NetSwitch netSwitch)
    {
        _metrics = metrics;
        _arbiter = arbiter;
        _images = images;
        _switch = netSwitch;
        Devices = [.. engine is { } kind ? DiskDevices(spec, disks, kind) : [], .. NicDevices(spec)];

        // One busy-poll for all: a nic's receive side wants the network's, disks alone their engine's.
        BusyPoll = spec.Nics.Count > 0 || engine is null ? NetDevice.DefaultBusyPoll : engine.Value.DefaultBusyPoll();
    }

    /// <summary>Every disk's and then every nic's device, in the order of the spec.</summary>
    public IReadOnlyList<MuxDevice> Devices { get; }

    /// <summary>How long the devices' workers poll their rings after work before sleeping.</summary>
    public TimeSpan BusyPoll { get; }

    /// <summary>
    /// Opens the image (or RAM disk) and each disk's volume, and the switch with its uplink.
    /// Throws <see cref="MuxOpenException"/> when one of them cannot be had; nothing stays open then.
    /// </summary>
    public static Multiplexer Open(MuxSpec spec, ILoggerFactory logs)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(logs);
        if (spec.Disks.Count > 0 && !(spec.CapacityIops > 0))
        {
            throw new ArgumentException("disks need a positive capacity", nameof(spec));
        }

        // The disks' arbiter (with its timer thread and meter) only when there are disks.
        var metrics = spec.Disks.Count > 0 ? new TenantMetrics() : null;
        var arbiter = metrics is null ? null : new DeviceArbiter(
            TimeProvider.System,
            spec.CapacityIops,
            new InflightWindow(MuxSpec.WindowMinimum, MuxSpec.WindowMaximum, spec.LatencyTolerance),
            metrics,
            logs.CreateLogger("arbiter"));
        List<IBlockImage> images = [];
        try
        {
            DiskImage[] disks = arbiter is null ? [] : OpenDisks(spec, images);
            BlockEngineKind? engine = images.Count == 0 ? null : ResolveEngine(spec, images[0]);
            return new Multiplexer(spec, metrics, arbiter, images, disks, engine, OpenSwitch(spec, logs));
        }
        catch
        {
            images.ForEach(image => image.Dispose());
            arbiter?.Dispose();
            metrics?.Dispose();
            throw;
        }
    }

    /// <summary>The report of the disks' arbiter and of the switch, as it stands now.</summary>
    public MuxReport Report() => new(_arbiter, _switch);

    public void Dispose()
    {
        _switch.Dispose();
        foreach (var image in _images)
        {
            image.Dispose();
        }

        _arbiter?.Dispose();
        _metrics?.Dispose();
    }

    /// <summary>Opens each disk's blocks, adding every image opened to <paramref name="images"/> (which the caller disposes on failure).</summary>
    private static DiskImage[] OpenDisks(MuxSpec spec, List<IBlockImage> images)
    {
        try
        {
            if (spec.Image is { } text && RbdImageSpec.TryParse(text, out _) is { } rbd)
            {
                return
                [
                    .. spec.Disks.Select(disk =>
                    {
                        var image = RbdVolumes.OpenOrCreate(rbd, disk.Name, (ulong)disk.SizeBytes);
                        images.Add(image);
                        return new DiskImage(image, null);
                    }),
                ];
            }

            var store = spec.Image is { } image ? BlockStore.Open(image, readOnly: false, direct: spec.Direct) : BlockStore.CreateRam(spec.RamBytes);
            images.Add(store);
            var table = spec.Image is { } path ? VolumeTable.Open(store, VolumeTable.PathFor(path)) : VolumeTable.CreateInMemory(store);
            return [.. spec.Disks.Select(disk => new DiskImage(store, table.OpenOrCreate(disk.Name, disk.SizeBytes)))];
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or JsonException or System.ComponentModel.Win32Exception)
        {
            throw new MuxOpenException(e.Message, e);
        }
    }

    /// <summary>
    /// The engine the disks get on <paramref name="image"/> (each disk's image resolves alike: one
    /// shared store, or RBD images all); throws <see cref="MuxOpenException"/> when the image
    /// cannot have the engine asked for, or the engine not the fixed buffers.
    /// </summary>
    private static BlockEngineKind ResolveEngine(MuxSpec spec, IBlockImage image)
    {
        try
        {
            return new BlkDeviceOptions { Engine = spec.Engine, FixedBuffers = spec.FixedBuffers }.EngineOn(image);
        }
        catch (BlkEngineConflictException e)
        {
            throw new MuxOpenException($"{e.Message} ({image.Name})", e);
        }
        catch (ArgumentException e)
        {
            throw new MuxOpenException(e.Message, e);
        }
    }

    private static NetSwitch OpenSwitch(MuxSpec spec, ILoggerFactory logs)
    {
        try
        {
            return new NetSwitch(spec.Mtu, spec.Uplink is { } tap ? new TapPort(tap, pairs: 1) : null, log: logs.CreateLogger("switch"));
        }
        catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
        {
            throw new MuxOpenException($"cannot open the uplink {spec.Uplink}: {e.Message}", e);
        }
    }

    /// <summary>Each disk's device, on the <paramref name="engine"/> that <see cref="Open"/> resolved and checked.</summary>
    private IEnumerable<MuxDevice> DiskDevices(MuxSpec spec, DiskImage[] disks, BlockEngineKind engine) =>
        spec.Disks.Zip(disks, (disk, blocks) => new MuxDevice(disk.Socket, services =>
        {
            var log = services.GetRequiredService<ILoggerFactory>().CreateLogger("mux");
            var arbitration = new BlkArbitration(_arbiter!, _arbiter!.AddTenant(disk.Name, disk.Tenant), spec.Costs);
            var device = new BlkDevice(
                blocks.Image,
                new BlkDeviceOptions
                {
                    Serial = disk.Name,
                    Volume = blocks.Volume,
                    Engine = engine,
                    FixedBuffers = spec.FixedBuffers,
                    Arbitration = arbitration,
                    Metrics = services.GetService<BlkMetrics>(),
                    MetricsName = disk.Name,
                },
                log);
            log.LogInformation(
                "disk {Name} on {Socket}: {Bytes} bytes at {Offset} of {Image}, {Engine} engine; reservation {Reservation} IOPS, weight {Weight}, limit {Limit} IOPS",
                disk.Name, disk.Socket, blocks.Volume?.Size ?? (long)blocks.Image.Size, blocks.Volume?.Offset ?? 0, blocks.Image.Name, device.Engine, disk.Tenant.Reservation, disk.Tenant.Weight, disk.Tenant.Limit);
            return device;
        }));

    /// <summary>Adds every nic's port to the switch now (the spec was checked, so none is refused); its device comes when its socket is served.</summary>
    private MuxDevice[] NicDevices(MuxSpec spec) =>
    [
        .. spec.Nics.Select(nic =>
        {
            var port = _switch.AddPort(nic.Name, nic.Mac, nic.Vlan, nic.Weight);
            return new MuxDevice(nic.Socket, services =>
            {
                var log = services.GetRequiredService<ILoggerFactory>().CreateLogger("mux");
                log.LogInformation(
                    "nic {Name} on {Socket}: MAC {Mac}, VLAN {Vlan}, MTU {Mtu}; weight {Weight} at the uplink",
                    nic.Name, nic.Socket, nic.Mac, nic.Vlan, spec.Mtu, nic.Weight);
                var device = new NetDevice(port, new NetDeviceOptions { Mac = nic.Mac, Mtu = spec.Mtu }, log);
                if (services.GetService<NetMetrics>() is { } metrics)
                {
                    metrics.Add(device, nic.Name);
                    metrics.Add(_switch);
                }

                return device;
            });
        }),
    ];
}
