using IoVirt.Arbitration;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Blk.Volumes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary><c>iovirt mux</c>: one vhost-user-blk socket per guest, each a volume of one shared image.</summary>
internal static class MuxCommand
{
    public const string Usage = """
        Usage: iovirt mux --config FILE [options]

        Serves one virtio-blk device over vhost-user per disk listed in FILE, all from
        this process, each disk a volume of its own on one shared image or RAM disk: a
        guest reaches only its volume, and a new volume reads as zeros whatever an
        earlier one left there. The volumes of an image are kept beside it in
        IMAGE.volumes.json; a disk whose volume exists (by name) gets it back with its
        data, so disks outlive restarts, and a disk whose size no longer matches its
        volume is an error. Each disk's GET_ID serial is its name.

        FILE is JSON, with "image": FILE (a raw image or block device, locked) or
        "ram": SIZE (a RAM disk, gone on exit), for example
          {
            "image": "/var/lib/iovirt/shared.img",
            "capacityIops": 200000,
            "disks": [
              { "name": "vm1", "socket": "/run/iovirt/vm1.sock", "size": "10G",
                "reservationIops": 5000, "weight": 2, "limitIops": 20000 }
            ]
          }
        name: 1 to 20 ASCII characters, unique; socket: unique; size: whole 512-byte
        sectors, with an optional k, M, G or T (the volume, and the disk the guest
        sees, is rounded up to whole MiB). reservationIops (default 0), weight
        (default 1) and limitIops (default 0: none) are checked, and the reservations
        together must fit in capacityIops, but they are not enforced yet: requests are
        not scheduled, each disk is served as fast as it comes.

        Options:
          --config FILE          the disks to serve; required
          --log-level LEVEL      trace, debug, information, warning, error (default information)
          -h, --help             show this text

        Logs go to stderr. SIGTERM or SIGINT stop every disk and remove the socket files.
        Exit codes: 0 stopped by a signal, 1 could not serve (the image cannot be opened,
        the volumes do not fit, a volume's size changed), 2 usage error or bad FILE.
        """;

    private static readonly HashSet<string> ValueOptions = ["--config", "--log-level"];
    private static readonly HashSet<string> Flags = ["-h", "--help"];

    public static int Run(ReadOnlySpan<string> args)
    {
        if (CommandLine.Parse(args, ValueOptions, Flags, Usage, out var line) is { } exit)
        {
            return exit;
        }

        if (line.Value("--config") is not { } path)
        {
            return Program.UsageError("--config FILE is required", Usage);
        }

        if (!BackendHost.TryParseLevel(line.Value("--log-level"), out var level))
        {
            return Program.UsageError($"bad --log-level '{line.Value("--log-level")}'", Usage);
        }

        if (MuxConfig.Load(path, out var error) is not { } config)
        {
            return Program.UsageError(error, Usage);
        }

        BlockStore store;
        try
        {
            store = config.Image is { } image ? BlockStore.Open(image, readOnly: false, direct: config.Direct) : BlockStore.CreateRam(config.RamBytes);
        }
        catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"iovirt mux: {e.Message}");
            return 1;
        }

        using (store)
        using (var metrics = new TenantMetrics())
        using (var arbiter = new DeviceArbiter(MonotonicClock.Instance, config.CapacityIops, new InflightWindow(MuxConfig.WindowMinimum, MuxConfig.WindowMaximum, config.LatencyTolerance), metrics))
        {
            BlockVolume[] volumes;
            try
            {
                var table = config.Image is { } image ? VolumeTable.Open(store, VolumeTable.PathFor(image)) : VolumeTable.CreateInMemory(store);
                volumes = [.. config.Disks.Select(disk => table.OpenOrCreate(disk.Name, disk.SizeBytes))];
            }
            catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or System.Text.Json.JsonException)
            {
                Console.Error.WriteLine($"iovirt mux: {e.Message}");
                return 1;
            }

            var devices = config.Disks.Zip(volumes, (disk, volume) => new HostedDevice(disk.Socket, services =>
            {
                var log = services.GetRequiredService<ILoggerFactory>().CreateLogger("mux");
                var arbitration = new BlkArbitration(arbiter, arbiter.AddTenant(disk.Name, disk.Tenant), BlkArbitration.DefaultCosts);
                var device = new BlkDevice(store, new BlkDeviceOptions { Serial = disk.Name, Volume = volume, Arbitration = arbitration }, log);
                log.LogInformation(
                    "disk {Name} on {Socket}: {Bytes} bytes at {Offset} of {Image}, {Engine} engine; reservation {Reservation} IOPS, weight {Weight}, limit {Limit} IOPS",
                    disk.Name, disk.Socket, volume.Size, volume.Offset, store.Name, device.Engine, disk.ReservationIops, disk.Weight, disk.LimitIops);
                return device;
            }));
            return BackendHost.Run([.. devices], level, TimeSpan.FromMicroseconds(BlkCommand.DefaultBusyPoll(BlockEngineKind.Auto, store)));
        }
    }
}
