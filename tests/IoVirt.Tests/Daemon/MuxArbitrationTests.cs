using IoVirt.Backends.Blk.Load;
using IoVirt.Testing;
using Xunit.Abstractions;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// `iovirt mux` enforcing what its config promises, on the real data path: load generators as
/// guests, each on its own disk, the daemon a process of its own. Shares show only where the
/// image is the bottleneck, so that test writes through O_DIRECT to a file on the machine's disk;
/// on a RAM image the CPU is what runs out, and the arbiter rightly lets every request through.
/// </summary>
[Collection(SharedDiskCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class MuxArbitrationTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-mux-arbitration-").FullName;

    [Fact]
    public void A_disk_never_exceeds_its_limit_and_reaches_it_when_it_asks_for_more()
    {
        const double Limit = 1000;
        using var daemon = Start(Ram, $$"""{ "name": "limited", "socket": "{{Socket("limited")}}", "size": "16M", "limitIops": {{Limit}} }""");
        var result = Load("limited", depth: 8, seconds: 2);
        Assert.InRange(result.Iops, 0.9 * Limit, 1.02 * Limit);
        Assert.Equal(0, result.Errors);

        // The daemon's own account: every request it completed, each a 4 KiB random read costing
        // one unit, and time held at the limit (seven of eight requests wait there at any moment).
        var disk = daemon.StopAndReadReport().GetProperty("disks").GetProperty("tenants").GetProperty("limited");
        var requests = disk.GetProperty("requests").GetInt64();
        Assert.InRange(requests, result.Ios, result.Ios + (Limit * 3));
        Assert.Equal(requests * 4096, disk.GetProperty("bytes").GetInt64());
        Assert.Equal(requests, disk.GetProperty("cost").GetDouble(), 1e-6);
        Assert.True(disk.GetProperty("throttledMicroseconds").GetDouble() > 1e6, disk.ToString());
    }

    [Fact]
    public void Limits_are_in_cost_units_so_a_disk_of_dearer_requests_gets_fewer()
    {
        // A 4 KiB random read costs 2 units here (1.75 + 0.0625 per KiB), so a limit of 1000 units is 500 reads a second.
        using var daemon = Start(Ram + ", \"costs\": { \"readRandom\": 1.75 }", $$"""{ "name": "dear", "socket": "{{Socket("dear")}}", "size": "16M", "limitIops": 1000 }""");
        var result = Load("dear", depth: 8, seconds: 2);
        Assert.InRange(result.Iops, 0.9 * 500, 1.02 * 500);
    }

    [Fact]
    public async Task Two_busy_disks_share_the_image_by_their_weights()
    {
        using var daemon = Start(
            DirectImage(),
            $$"""{ "name": "light", "socket": "{{Socket("light")}}", "size": "16M", "weight": 1 }""",
            $$"""{ "name": "heavy", "socket": "{{Socket("heavy")}}", "size": "16M", "weight": 3 }""");
        var light = Task.Run(() => Load("light", depth: 64, seconds: 3, BlkPattern.RandWrite, ShareBlockSize));
        var heavy = Task.Run(() => Load("heavy", depth: 64, seconds: 3, BlkPattern.RandWrite, ShareBlockSize));
        var (lightIops, heavyIops) = ((await light).Iops, (await heavy).Iops);
        var ratio = heavyIops / lightIops;
        Assert.True(ratio is > 2.4 and < 3.6, $"heavy {heavyIops:F0} IOPS, light {lightIops:F0}: {ratio:F2}x, not 3x");
    }

    [Fact]
    public async Task A_reservation_lifts_a_light_disk_above_its_weighted_share_next_to_heavier_ones()
    {
        // First without a reservation, to learn what the light disk's weight alone gets it on this machine's disk.
        var unreserved = await RunReservationCase(reservationUnits: 0);
        // Twice its weighted share, within what eight requests at a time can reach (Little's law) and well inside the image's capacity.
        var reservation = Math.Round(Math.Min(2 * unreserved.Light, 0.3 * unreserved.Total));
        Assert.True(reservation > 1.5 * unreserved.Light, $"the image ({unreserved.Total:F0} IOPS) leaves no room to show a reservation: {unreserved.Light:F0} without one");

        // Reservations are in cost units; every request here is alike, so one costs what the first run's did on average.
        var reserved = await RunReservationCase(Math.Round(reservation * unreserved.CostPerRequest));
        output.WriteLine($"light disk: {unreserved.Light:F0} IOPS of {unreserved.Total:F0} by weight alone, {reserved.Light:F0} with a reservation of {reservation:F0}");
        Assert.True(reserved.Light >= 0.9 * reservation, $"{reserved.Light:F0} IOPS with a reservation of {reservation:F0} (without it {unreserved.Light:F0}, of {unreserved.Total:F0})");
    }

    /// <summary>A light disk at QD8 with <paramref name="reservationUnits"/> next to two weight-4 disks at QD32: its IOPS, the total, and the cost units a request took.</summary>
    private async Task<(double Light, double Total, double CostPerRequest)> RunReservationCase(double reservationUnits)
    {
        using var daemon = Start(
            DirectImage(),
            $$"""{ "name": "light", "socket": "{{Socket("light")}}", "size": "16M", "reservationIops": {{reservationUnits.ToString(System.Globalization.CultureInfo.InvariantCulture)}} }""",
            $$"""{ "name": "heavy1", "socket": "{{Socket("heavy1")}}", "size": "16M", "weight": 4 }""",
            $$"""{ "name": "heavy2", "socket": "{{Socket("heavy2")}}", "size": "16M", "weight": 4 }""");
        var light = Task.Run(() => Load("light", depth: 8, seconds: 3, BlkPattern.RandWrite, ShareBlockSize));
        var heavy1 = Task.Run(() => Load("heavy1", depth: 32, seconds: 3, BlkPattern.RandWrite, ShareBlockSize));
        var heavy2 = Task.Run(() => Load("heavy2", depth: 32, seconds: 3, BlkPattern.RandWrite, ShareBlockSize));
        var (l, h1, h2) = ((await light).Iops, (await heavy1).Iops, (await heavy2).Iops);
        var tenant = daemon.StopAndReadReport().GetProperty("disks").GetProperty("tenants").GetProperty("light");
        return (l, l + h1 + h2, tenant.GetProperty("cost").GetDouble() / tenant.GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task A_guest_killed_under_load_leaves_nothing_at_the_arbiter_and_the_other_disk_is_served_on()
    {
        using var daemon = Start(
            DirectImage(),
            $$"""{ "name": "victim", "socket": "{{Socket("victim")}}", "size": "16M" }""",
            $$"""{ "name": "killed", "socket": "{{Socket("killed")}}", "size": "16M" }""");
        using (var killed = DaemonProcess.Start("bench-blk", "--socket", Socket("killed"), "--rw", "randwrite", "--iodepth", "128", "--runtime", "30", "--ramp", "0"))
        {
            var victim = Task.Run(() => Load("victim", depth: 4, seconds: 3));
            Thread.Sleep(1500);
            killed.Signal(9);
            Assert.NotEqual(0, killed.WaitForExit(5_000));
            var result = await victim;
            Assert.Equal(0, result.Errors);
            Assert.True(result.Iops > 100, $"{result.Iops} IOPS");
        }

        // The killed guest's requests in flight completed or were abandoned; none holds the window.
        var after = Load("victim", depth: 4, seconds: 1);
        Assert.True(after.Iops > 100, $"{after.Iops} IOPS after the other guest died");
        var disks = daemon.StopAndReadReport().GetProperty("disks");
        Assert.Equal(0, disks.GetProperty("inFlight").GetInt32());
        Assert.True(disks.GetProperty("tenants").GetProperty("killed").GetProperty("requests").GetInt64() > 0, disks.ToString());
    }

    private const string Ram = "\"ram\": \"64M\"";

    /// <summary>
    /// The request size of the tests that measure shares. Requests this large make the disk's
    /// bandwidth the bottleneck before two cores are: with 4 KiB writes on a disk that took them
    /// fast (48k IOPS once), the daemon's CPU ran out first, nothing queued at the arbiter, and
    /// each disk got what its queue depth asked, weights or not.
    /// </summary>
    private const int ShareBlockSize = 128 << 10;

    private BlkLoadResult Load(string disk, int depth, double seconds, BlkPattern pattern = BlkPattern.RandRead, int blockSize = 4096) => BlkLoadGenerator.Run(new BlkLoadOptions
    {
        SocketPath = Socket(disk),
        Pattern = pattern,
        BlockSize = blockSize,
        IoDepth = depth,
        Runtime = TimeSpan.FromSeconds(seconds),
        RampTime = TimeSpan.FromSeconds(0.5),
    });

    private string Socket(string disk) => Path.Combine(_directory, disk + ".sock");

    /// <summary>An image file on the machine's disk, opened with O_DIRECT (writes reach the device whatever the file held).</summary>
    private string DirectImage()
    {
        // Made once: a daemon that stopped holds the image's lock until the kernel tears its io_uring down, and the next one waits for it.
        var image = Path.Combine(_directory, "shared.img");
        if (!File.Exists(image))
        {
            using var file = File.Create(image);
            file.SetLength(64 << 20);
        }

        return $"\"image\": \"{image}\", \"direct\": true";
    }

    private DaemonProcess Start(string store, params string[] disks)
    {
        var path = Path.Combine(_directory, "mux.json");
        File.WriteAllText(path, $$"""{ {{store}}, "capacityIops": 1000000, "disks": [ {{string.Join(", ", disks)}} ] }""");
        var daemon = DaemonProcess.Start("mux", "--config", path);
        foreach (var disk in disks)
        {
            daemon.WaitForSocket(disk.Split('"')[7]);
        }

        return daemon;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

/// <summary>
/// Tests that measure shares of this machine's disk run alone: another test's I/O in between
/// would change the device under them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharedDiskCollection
{
    public const string Name = "shared disk";
}
