using System.Text.RegularExpressions;
using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Backends.Blk.Volumes;
using IoVirt.Testing;
using Microsoft.Win32.SafeHandles;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// `iovirt mux` as a process: guests on volumes of one shared image each see only their own
/// disk, a new volume reads zeros, volumes keep their data across restarts, and bad configs are refused.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class MuxDaemonTests : IDisposable
{
    private const int Mib = 1 << 20;
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-mux-daemon-").FullName;

    public MuxDaemonTests()
    {
        using var image = File.Create(Image);
        image.SetLength(8 * Mib);
    }

    private string Image => Path.Combine(_directory, "shared.img");

    private string Socket(string disk) => Path.Combine(_directory, disk + ".sock");

    [Fact]
    public void Two_guests_writing_the_same_sectors_each_read_back_only_their_own()
    {
        using var daemon = Start(Config(Disk("a", "2M"), Disk("b", "3M")));
        using var a = Connect(daemon, "a");
        using var b = Connect(daemon, "b");
        Assert.Equal((ulong)(2 * Mib / 512), a.CapacitySectors);
        Assert.Equal((ulong)(3 * Mib / 512), b.CapacitySectors);
        Assert.Contains("disk b on " + Socket("b") + ": 3145728 bytes at 2097152", daemon.Stderr, StringComparison.Ordinal);

        a.WriteFilled(8, 0xaa);
        b.WriteFilled(8, 0xbb);
        Assert.Equal(0xaa, a.ReadFilled(8));
        Assert.Equal(0xbb, b.ReadFilled(8));

        // The last sector of a volume is the guest's; the one after it, B's first in the image, is not.
        a.WriteFilled(a.CapacitySectors - 1, 0xa1);
        Assert.Equal(0xa1, a.ReadFilled(a.CapacitySectors - 1));
        Assert.Equal(VirtioBlkStatus.IoError, a.Execute(VirtioBlkRequestType.Out, a.CapacitySectors, 512));
        Assert.Equal(VirtioBlkStatus.IoError, a.Execute(VirtioBlkRequestType.In, a.CapacitySectors, 512));
        Assert.Equal(0, b.ReadFilled(0));

        Stop(daemon);
        Assert.False(File.Exists(Socket("a")) || File.Exists(Socket("b")), "a socket file was left behind");
    }

    [Fact]
    public void Volumes_keep_their_data_across_restarts_and_a_new_one_reads_zeros_where_another_was()
    {
        using (var daemon = Start(Config(Disk("a", "2M"), Disk("b", "2M"))))
        {
            using var a = Connect(daemon, "a");
            using var b = Connect(daemon, "b");
            a.WriteFilled(0, 0xaa);
            b.WriteFilled(0, 0xbb);
            Stop(daemon);
        }

        // Forget A between runs. Opening the store waits for the image's lock, which the stopped
        // daemon's io_uring lets go of only once the kernel has torn the ring down. A's data is
        // read through the store's own descriptor: a fresh open (File.ReadAllBytes) takes a
        // shared lock without waiting, and a process another test forks while the store is open
        // holds the store's open file, and so its lock, until it execs.
        using (var store = BlockStore.Open(Image, readOnly: false, direct: false))
        {
            VolumeTable.Open(store, VolumeTable.PathFor(Image)).Remove("a");
            var first = new byte[1];
            Assert.Equal(1, RandomAccess.Read(new SafeFileHandle(store.Buffered.Fd, ownsHandle: false), first, 0));
            Assert.Equal(0xaa, first[0]);
        }

        using (var daemon = Start(Config(Disk("b", "2M"), Disk("c", "2M"))))
        {
            using var b = Connect(daemon, "b");
            using var c = Connect(daemon, "c");
            Assert.Equal(0xbb, b.ReadFilled(0));
            Assert.Equal(0, c.ReadFilled(0));
            Assert.Contains("disk c on " + Socket("c") + ": 2097152 bytes at 0 ", daemon.Stderr, StringComparison.Ordinal);
            Stop(daemon);
        }
    }

    [Fact]
    public void A_disk_whose_size_changed_or_that_does_not_fit_is_not_served()
    {
        using (var daemon = Start(Config(Disk("a", "2M"))))
        {
            using var a = Connect(daemon, "a");
            Stop(daemon);
        }

        using (var daemon = Start(Config(Disk("a", "3M"))))
        {
            Assert.Equal(1, daemon.WaitForExit());
            Assert.Contains("volume 'a' exists with 2097152 bytes, not the 3145728 asked for", daemon.Stderr, StringComparison.Ordinal);
        }

        using (var daemon = Start(Config(Disk("a", "2M"), Disk("b", "7M"))))
        {
            Assert.Equal(1, daemon.WaitForExit());
            Assert.Contains("no free extent of 7340032 bytes", daemon.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_ram_disk_serves_volumes_too()
    {
        using var daemon = Start("""{ "ram": "4M", "capacityIops": 100, "disks": [ """ + Disk("a", "1M") + ", " + Disk("b", "1M") + " ] }");
        using var a = Connect(daemon, "a");
        using var b = Connect(daemon, "b");
        a.WriteFilled(0, 0xaa);
        Assert.Equal(0, b.ReadFilled(0));
        Assert.Equal(0xaa, a.ReadFilled(0));
        Stop(daemon);
    }

    [Fact]
    public void With_the_uring_engine_and_fixed_buffers_each_disk_serves_its_guest_from_registered_memory()
    {
        using var daemon = Start($$"""{ "image": "{{Image}}", "capacityIops": 1000, "engine": "uring", "fixedBuffers": true, "disks": [ {{Disk("a", "2M")}}, {{Disk("b", "2M")}} ] }""");
        using var a = Connect(daemon, "a");
        using var b = Connect(daemon, "b");
        a.WriteFilled(8, 0xaa);
        b.WriteFilled(8, 0xbb);
        Assert.Equal(0xaa, a.ReadFilled(8));
        Assert.Equal(0xbb, b.ReadFilled(8));

        // Each guest's memory, registered with its own disk's ring.
        daemon.WaitForStderr("fixed buffer(s)");
        Assert.Contains("disk a on " + Socket("a"), daemon.Stderr, StringComparison.Ordinal);
        Assert.Contains("Uring engine", daemon.Stderr, StringComparison.Ordinal);
        Assert.True(
            SpinWait.SpinUntil(() => Regex.Count(daemon.Stderr, @"io_uring: guest memory \(\d+ MiB\) registered as [1-9]\d* fixed buffer\(s\)") >= 2, TimeSpan.FromSeconds(10)),
            daemon.Stderr);
        Stop(daemon);
    }

    [Theory]
    [InlineData("mapped", false, "the mapped engine cannot serve this image")]
    [InlineData("sync", true, "fixed buffers are for the uring engine, not sync")]
    public void An_engine_that_cannot_serve_the_image_or_the_fixed_buffers_is_not_served(string engine, bool fixedBuffers, string error)
    {
        using var daemon = Start($$"""{ "image": "{{Image}}", "capacityIops": 1000, "engine": "{{engine}}", "fixedBuffers": {{(fixedBuffers ? "true" : "false")}}, "disks": [ {{Disk("a", "2M")}} ] }""");
        Assert.Equal(1, daemon.WaitForExit());
        Assert.Contains(error, daemon.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Socket("a")), "a socket was made for a disk that is not served");
    }

    [Theory]
    [InlineData("line 1, column 2: not valid JSON", "{")]
    [InlineData("the file is empty (or only comments): it needs a JSON object with \"disks\", \"nics\" or both", "")]
    [InlineData("the file is empty (or only comments): it needs a JSON object with \"disks\", \"nics\" or both", "// nothing but this\n")]
    [InlineData("line 1: \"disks[0]\" is missing \"size\"", """{ "ram": "4M", "capacityIops": 1, "disks": [ { "name": "a", "socket": "a" } ] }""")]
    [InlineData("line 1: unknown field \"bogus\"; the fields there are image, ram, direct,", """{ "ram": "4M", "capacityIops": 1, "disks": [], "bogus": 1 }""")]
    [InlineData("line 4: unknown field \"weigth\"; did you mean \"weight\"?", "{\n  \"ram\": \"4M\", \"capacityIops\": 1,\n  \"disks\": [ { \"name\": \"a\", \"socket\": \"a\", \"size\": \"1M\",\n    \"weigth\": 2 } ]\n}")]
    [InlineData("line 3: \"disks[0].weight\" must be a number", "{\n  \"ram\": \"4M\", \"capacityIops\": 1, \"disks\": [\n  { \"name\": \"a\", \"socket\": \"a\", \"size\": \"1M\", \"weight\": \"heavy\" } ] }")]
    [InlineData("line 1, column 92: not valid JSON: a comma before a closing ] or } (JSON allows none there)", """{ "ram": "4M", "capacityIops": 1, "disks": [ { "name": "a", "socket": "a", "size": "1M" }, ] }""")]
    [InlineData("the config needs one of \"image\" and \"ram\"", """{ "capacityIops": 1, "disks": [ { "name": "a", "socket": "a", "size": "1M" } ] }""")]
    [InlineData("bad \"costs\": the fixed parts must be positive", """{ "ram": "4M", "capacityIops": 1, "costs": { "readSequential": 0 }, "disks": [ { "name": "a", "socket": "a", "size": "1M" } ] }""")]
    [InlineData("bad \"latencyTolerance\" 0: a positive number", """{ "ram": "4M", "capacityIops": 1, "latencyTolerance": 0, "disks": [ { "name": "a", "socket": "a", "size": "1M" } ] }""")]
    [InlineData("bad \"ram\" '1000'", """{ "ram": "1000", "capacityIops": 1, "disks": [ { "name": "a", "socket": "a", "size": "1M" } ] }""")]
    [InlineData("bad \"engine\" 'fast': auto, uring, sync, mapped, null or rbd",
        """{ "ram": "4M", "capacityIops": 1, "engine": "fast", "disks": [ { "name": "a", "socket": "a", "size": "1M" } ] }""")]
    [InlineData("bad \"capacityIops\" 0", """{ "ram": "4M", "capacityIops": 0, "disks": [ { "name": "a", "socket": "a", "size": "1M" } ] }""")]
    [InlineData("bad \"capacityIops\" (none)", """{ "ram": "4M", "disks": [ { "name": "a", "socket": "a", "size": "1M" } ] }""")]
    [InlineData("the config needs a list of \"disks\", of \"nics\" or both", """{ "ram": "4M", "capacityIops": 1, "disks": [] }""")]
    [InlineData("disk 'a': size '1000' is not a positive whole number of 512-byte sectors",
        """{ "ram": "4M", "capacityIops": 1, "disks": [ { "name": "a", "socket": "a", "size": "1000" } ] }""")]
    [InlineData("disk '012345678901234567890': a name is 1 to 20 printable ASCII characters",
        """{ "ram": "4M", "capacityIops": 1, "disks": [ { "name": "012345678901234567890", "socket": "a", "size": "1M" } ] }""")]
    [InlineData("two devices are named 'a'",
        """{ "ram": "4M", "capacityIops": 1, "disks": [ { "name": "a", "socket": "a", "size": "1M" }, { "name": "a", "socket": "b", "size": "1M" } ] }""")]
    [InlineData("two devices use the socket a",
        """{ "ram": "4M", "capacityIops": 1, "disks": [ { "name": "a", "socket": "a", "size": "1M" }, { "name": "b", "socket": "a", "size": "1M" } ] }""")]
    [InlineData("disk 'b': \"reservationIops\" 60 does not fit: the disks before it reserve 60 of \"capacityIops\" 100; lower the reservations or raise the capacity",
        """{ "ram": "4M", "capacityIops": 100, "disks": [ { "name": "a", "socket": "a", "size": "1M", "reservationIops": 60 }, { "name": "b", "socket": "b", "size": "1M", "reservationIops": 60 } ] }""")]
    [InlineData("disk 'a': \"limitIops\" 10 is below \"reservationIops\" 20",
        """{ "ram": "4M", "capacityIops": 100, "disks": [ { "name": "a", "socket": "a", "size": "1M", "reservationIops": 20, "limitIops": 10 } ] }""")]
    [InlineData("disk 'a': \"weight\" must be more than 0",
        """{ "ram": "4M", "capacityIops": 100, "disks": [ { "name": "a", "socket": "a", "size": "1M", "weight": 0 } ] }""")]
    public void A_bad_config_is_a_usage_error_that_says_what_is_wrong(string message, string config)
    {
        using var daemon = Start(config);
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains(message, daemon.Stderr, StringComparison.Ordinal);

        // One line and a pointer to the help, in the user's terms: no .NET type or member names.
        var lines = daemon.Stderr.TrimEnd().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("iovirt mux: ", lines[0], StringComparison.Ordinal);
        Assert.Equal("Run 'iovirt mux --help' for the options.", lines[1]);
        Assert.DoesNotMatch(@"IoVirt\.|System\.|\.NET|LineNumber|isFinalBlock", daemon.Stderr);
    }

    [Fact]
    public void Volumes_can_be_listed_and_removed_and_a_full_image_names_who_holds_it()
    {
        using (var first = Start(Config(Disk("a", "3M"), Disk("b", "3M"))))
        {
            first.WaitForSocket(Socket("b"));

            // A running mux holds the image: its volumes cannot be removed from under it.
            using var busy = DaemonProcess.Start("mux", "volumes", "remove", "--image", Image, "--name", "a");
            Assert.Equal(1, busy.WaitForExit());
            Assert.Contains("in use", busy.Stderr, StringComparison.Ordinal);
            Stop(first);
        }

        using (var full = Start(Config(Disk("a", "3M"), Disk("b", "3M"), Disk("c", "4M"))))
        {
            Assert.Equal(1, full.WaitForExit());
            Assert.Contains("no free extent of 4194304 bytes for volume 'c'", full.Stderr, StringComparison.Ordinal);
            Assert.Contains("held by 'a' (3145728 bytes at 0), 'b' (3145728 bytes at 3145728)", full.Stderr, StringComparison.Ordinal);
            Assert.Contains($"iovirt mux volumes list --image {Image} shows them all", full.Stderr, StringComparison.Ordinal);
        }

        Assert.Equal(["a 3145728 0", "b 3145728 3145728"], ListVolumes());
        using (var remove = DaemonProcess.Start("mux", "volumes", "remove", "--image", Image, "--name", "a"))
        {
            Assert.Equal(0, remove.WaitForExit());
        }

        Assert.Equal(["b 3145728 3145728"], ListVolumes());
        using var next = Start(Config(Disk("b", "3M"), Disk("c", "3M")));
        next.WaitForSocket(Socket("c"));
        Stop(next);
        Assert.Equal(["c 3145728 0", "b 3145728 3145728"], ListVolumes());
    }

    [Theory]
    [InlineData("iovirt mux volumes", "list or remove is required")]
    [InlineData("iovirt mux volumes", "Unrecognized command or argument 'drop'.", "drop")]
    [InlineData("iovirt mux volumes list", "--image FILE is required", "list")]
    [InlineData("iovirt mux volumes remove", "--name NAME is required", "remove", "--image", "x")]
    [InlineData("iovirt mux volumes list", "Unrecognized command or argument '--name'.", "list", "--image", "x", "--name", "a")]
    public void Volume_usage_errors_exit_with_2_and_point_to_the_help(string command, string message, params string[] args)
    {
        using var daemon = DaemonProcess.Start(["mux", "volumes", .. args]);
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Equal($"{command}: {message}\nRun '{command} --help' for the options.", daemon.Stderr.TrimEnd());
    }

    [Fact]
    public void The_config_option_is_required()
    {
        using var daemon = DaemonProcess.Start("mux");
        Assert.Equal(2, daemon.WaitForExit());
        Assert.Contains("--config FILE is required", daemon.Stderr, StringComparison.Ordinal);
    }

    /// <summary>`iovirt mux volumes list`, each volume as "name size offset".</summary>
    private string[] ListVolumes()
    {
        using var list = DaemonProcess.Start("mux", "volumes", "list", "--image", Image);
        Assert.Equal(0, list.WaitForExit());
        return [.. list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)))];
    }

    private DaemonProcess Start(string config)
    {
        var path = Path.Combine(_directory, "mux.json");
        File.WriteAllText(path, config);
        return DaemonProcess.Start("mux", "--config", path);
    }

    private string Config(params string[] disks) =>
        $$"""{ "image": "{{Image}}", "capacityIops": 1000, "disks": [ {{string.Join(", ", disks)}} ] }""";

    private string Disk(string name, string size) => $$"""{ "name": "{{name}}", "socket": "{{Socket(name)}}", "size": "{{size}}" }""";

    private BlkClient Connect(DaemonProcess daemon, string disk)
    {
        daemon.WaitForSocket(Socket(disk));
        return BlkClient.Connect(Socket(disk));
    }

    private static void Stop(DaemonProcess daemon)
    {
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
