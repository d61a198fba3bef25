using System.CommandLine;
using IoVirt.Backends.Blk.Rbd;
using IoVirt.Backends.Mux;
using IoVirt.Sandbox;
using Microsoft.Extensions.Logging;

namespace IoVirt.Cli;

/// <summary><c>iovirt mux</c>: per guest a vhost-user-blk socket on a volume of one shared image, a vhost-user-net socket on one switch, or both.</summary>
internal static class MuxCommand
{
    public static Command Create()
    {
        var config = new SettingsFileOption(
            """
            the disks and nics to serve, and any of the options below
            in camelCase ({"logLevel": "debug"}; those given here win);
            required
            """,
            onlyOptions: false);
        var daemon = new DaemonOptions();
        var command = new DocumentedCommand("mux", "Serves, all from this process, one vhost-user device per disk and per nic listed in FILE.")
        {
            Details = """
                Each disk is a virtio-blk device on a volume of its own on one shared image or
                RAM disk: a guest reaches only its volume, and a new volume reads as zeros
                whatever an earlier one left there. The volumes of an image are kept beside it
                in IMAGE.volumes.json; a disk whose volume exists (by name) gets it back with
                its data, so disks outlive restarts, and a disk whose size no longer matches
                its volume is an error. Each disk's GET_ID serial is its name. "iovirt mux
                volumes" lists the volumes of an image, or removes one (see its --help).

                The disks take turns at the image (mClock): each gets its reservation when it
                has work, a share of the rest in proportion to its weight, and never more than
                its limit. Rates are in IOPS of 4 KiB random reads: by default a random
                request costs 3/4 and a sequential one 1/4, plus 1/4 per 4 KiB moved, both
                ways ("costs" sets readRandom, readSequential, readPerKiB, writeRandom,
                writeSequential and writePerKiB, for example from fio runs on the device); a
                flush or discard costs one random write. While two or more disks are busy, the image gets only
                as many requests at once as keep its latency per cost within latencyTolerance
                of its unloaded level (2 to 256, learned as it runs), so the scheduler, not the
                image's queue, decides who goes next; a disk alone gets up to 256.

                Each nic is a virtio-net device on a port of one switch that joins the nics:
                a port has a fixed MAC, the only source address its guest may send from
                (frames from any other are dropped and counted as spoofed), and a VLAN, the
                only one its guest sees. Unicast frames go to the port owning the destination
                MAC; broadcast, multicast and unknown destinations go to every other port of
                the VLAN. With "uplink": TAP, the switch has one more port, that TAP interface
                (created if missing; bring it up or add it to a bridge yourself): a trunk,
                where each VLAN but 0 is 802.1Q-tagged. Frames for MACs not on the switch go
                up it; the source MACs seen on it are learned (at most 1024, forgotten after
                300 s unseen; more are flooded to and counted), and a frame from it posing
                as a guest's MAC is dropped. Ports share the uplink in proportion to their
                weights (deficit round robin on 250 ns per frame plus 0.25 ns per byte), and
                the senders to a port (other ports by their weights, the uplink as weight 1)
                share its guest the same way, each with its own queue of 256 frames.

                FILE is JSON, with disks, nics or both; disks need "image": FILE (a raw image
                or block device, locked; make one with truncate -s 20G /tmp/guests.img), or
                "image": "rbd:POOL/PREFIX[,conf=FILE][,id=USER][,timeout=SECONDS]" (volumes on
                Ceph: an RBD image PREFIX-NAME per disk, made when first served), or "ram": SIZE
                (a RAM disk, gone on exit), and "capacityIops", for example
                  {
                    "image": "/tmp/guests.img",
                    "direct": true,
                    "capacityIops": 60000,
                    "latencyTolerance": 0.25,
                    "disks": [
                      { "name": "vm1", "socket": "/tmp/vm1.sock", "size": "10G",
                                "reservationIops": 5000, "weight": 2, "limitIops": 20000 }
                    ],
                    "mtu": 1500,
                    "uplink": "tap0",
                    "nics": [
                      { "name": "vm1-net", "socket": "/tmp/vm1-net.sock",
                                "mac": "02:00:00:00:00:01", "vlan": 0, "weight": 1 }
                    ]
                  }
                name: 1 to 20 ASCII characters, unique among disks and nics; socket: unique;
                size: whole 512-byte sectors, with an optional k, M, G or T (the volume, and
                the disk the guest sees, is rounded up to whole MiB). reservationIops
                (default 0), weight (default 1) and limitIops (default 0: none, else at least
                the reservation); the reservations together must fit in capacityIops, the
                rate the image sustains (admission control). direct: O_DIRECT for aligned
                requests, so the image's device rather than the page cache is what is shared
                (default false). engine: how the disks reach the image, as "iovirt blk
                --engine" names it (default auto). fixedBuffers: each disk's io_uring rings
                register its guest's memory, as "iovirt blk --fixed-buffers" does (default
                false; with an engine other than uring, exit 1). latencyTolerance: positive
                (default 0.25); larger gives more throughput and weaker shares. mtu: 68 to
                65535 (default 1500), for every nic; mac: a unicast address, unique; vlan: 0
                (untagged, the default) to 4094; weight: a whole number from 1 to 1000
                (default 1).

                Each socket: a stale one is replaced; a path holding anything else is refused
                (exit 2), and so is a socket another daemon serves (exit 1; it holds
                SOCKET.lock, which names it). On exit only the sockets this daemon made are
                removed.

                On exit it prints one JSON line on stdout: "disks" (null without disks), with
                "tenants", for each disk by name its requests, bytes and cost completed and
                the microseconds they waited in the scheduler (queueWaitMicroseconds) and at
                the disk's limit (throttledMicroseconds), and its requests cancelled as its
                guest went away before they reached the image (cancelled); "inFlight", the
                requests granted to the image and not completed, "waiting", those held in the
                scheduler, "window", the requests the image
                may have at once while two or more disks are busy, and "capacity", the cost
                units a second it was measured to complete then (0 until measured); "nics", for each nic by name the
                switch's counters spoofed (frames from a source MAC not the port's),
                overflowed (frames for the port dropped, its guest not taking them as fast
                as their sender sent), forwarded (frames from the port that reached another or
                the uplink's queue), receiverOverflowed (frames from the port another port
                dropped, the port sending beyond its share there), uplinkOverflowed (dropped,
                the port's uplink queue full) and uplinkSent (its share of the uplink);
                "uplink" (null without one): received, sent, sendFailed, learned,
                learnRefused, spoofed, malformed and receiverOverflowed frames; and
                "learned", the MACs known behind the uplink at exit. SIGUSR1 prints the same
                line at any time. Logs go to stderr. SIGTERM or SIGINT stop every device and
                remove the socket files.
                Exit codes: 0 stopped by a signal, 1 could not serve (the image cannot be opened,
                the volumes do not fit, a volume's size changed, the engine does not serve the
                image or the options), 2 usage error or bad FILE.

                """,
        };
        command.Add(config);
        daemon.AddTo(command);
        CommandLine.Require(command, config);
        command.Add(MuxVolumesCommand.Create());
        command.SetAction(result => Run(result, result.GetRequiredValue(config), daemon));
        return command;
    }

    private static int Run(ParseResult result, string path, DaemonOptions daemon)
    {
        var telemetry = daemon.Telemetry(result);
        if (MuxConfig.Load(path, out var error) is not { } config)
        {
            return CommandLine.UsageError(result, error!.Line);
        }

        // The namespaces before anything opens; an uplink TAP lives in the host's network namespace,
        // so it is kept, and volumes on Ceph are reached through it by librados' own connections.
        var network = config.Image is { } named && RbdImageSpec.Names(named) ? NetworkAccess.Connects
            : config.Uplink is not null ? NetworkAccess.Host : NetworkAccess.None;
        if (daemon.Enter(result, network, "iovirt mux", out var sandbox) is { } sandboxExit)
        {
            return sandboxExit;
        }

        // Logs of the parts made before the host (the arbiter's timer, the switch's uplink).
        using var logging = LoggerFactory.Create(builder => DaemonHost.ConfigureLogging(builder, telemetry.Logging));
        Multiplexer mux;
        try
        {
            mux = Multiplexer.Open(config.ToSpec(), logging);
        }
        catch (MuxOpenException e)
        {
            var hint = config.Image is { } image && e.VolumesConflict ? $" (iovirt mux volumes list --image {image} shows them all)" : string.Empty;
            Console.Error.WriteLine($"iovirt mux: {e.Message}{hint}");
            return 1;
        }

        using (mux)
        {
            HostedDevice[] devices = [.. mux.Devices.Select(device => new HostedDevice(device.Socket, device.Create))];
            return DaemonHost.Run(devices, telemetry, mux.BusyPoll, () => DaemonHost.PrintReport(mux.Report(), ReportJson.Default.MuxReport), sandbox);
        }
    }
}
