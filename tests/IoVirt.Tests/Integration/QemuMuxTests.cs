using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using IoVirt.Backends.Blk.Volumes;
using IoVirt.Testing;
using Xunit.Abstractions;

namespace IoVirt.Tests.Integration;

/// <summary>
/// Two Linux guests in QEMU on two volumes of one shared image, both served by one `iovirt mux`,
/// write and verify their whole disks at the same time; the test then reads the image itself.
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed partial class QemuMuxTests : IDisposable
{
    private const int DiskBytes = 64 << 20;

    /// <summary>fio's smallest block: every block it writes starts on such a boundary.</summary>
    private const int BlockBytes = 4096;

    /// <summary>Room for fio's verify header and checksum at the start of a block; the rest of the block is the pattern.</summary>
    private const int HeaderBytes = 512;

    /// <summary>
    /// Rounds of writing and verifying the whole disk. One takes a guest about a second and a half, and the two
    /// guests finish booting seconds apart: enough rounds that their fio runs overlap for most of their length.
    /// </summary>
    private const int Loops = 10;

    private const int MinOverlapSeconds = 3;

    private readonly ITestOutputHelper _output;
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-qemu-mux-").FullName;

    public QemuMuxTests(ITestOutputHelper output)
    {
        _output = output;
        using var image = File.Create(Image);
        image.SetLength(2L * DiskBytes);
    }

    private string Image => Path.Combine(_directory, "shared.img");

    private string Socket(string disk) => Path.Combine(_directory, disk + ".sock");

    /// <summary>One guest: its disk's name (and so its serial), the byte its fio fills blocks with, and fio's random seed.</summary>
    private sealed record Guest(string Disk, byte Pattern, int Seed);

    [Fact]
    public async Task Two_guests_on_two_volumes_of_one_image_verify_their_writes_at_once_and_each_volume_holds_only_its_guests_pattern()
    {
        Guest[] guests = [new("alpha", 0xa5, 1), new("beta", 0x5a, 2)];
        var config = Path.Combine(_directory, "mux.json");
        var disks = guests.Select(g => $$"""{ "name": "{{g.Disk}}", "socket": "{{Socket(g.Disk)}}", "size": "{{DiskBytes}}" }""");
        File.WriteAllText(config, $$"""{ "image": "{{Image}}", "capacityIops": 100000, "disks": [ {{string.Join(", ", disks)}} ] }""");
        using var daemon = DaemonProcess.Start("mux", "--config", config);
        foreach (var guest in guests)
        {
            daemon.WaitForSocket(Socket(guest.Disk));
            Assert.True(daemon.IsConfined, "the daemon runs without its sandbox");
        }

        var clock = Stopwatch.StartNew();
        var runs = guests.Select(g => Task.Run(() => QemuGuest.Run(FioScript(g), QemuGuest.VhostUserBlk(Socket(g.Disk)), timeoutSeconds: 150))).ToArray();
        var results = await Task.WhenAll(runs);
        _output.WriteLine($"two guests boot, write and verify their 64 MiB disks {Loops} times at once, power off: {clock.ElapsedMilliseconds} ms");

        foreach (var (guest, (exit, console)) in guests.Zip(results))
        {
            _output.WriteLine(console);
            Assert.True(exit == 0, console + daemon.Stderr);
            Assert.Contains($"SERIAL {guest.Disk}\n", console.ReplaceLineEndings("\n"), StringComparison.Ordinal);
            Assert.Matches(QemuBlkTests.ErrZero(), console);
        }

        // The guests' clocks start from the host's (QEMU's RTC), to the second: both fio runs
        // overlapped by more than that error, so neither had its volume to itself.
        var spans = results.Select(r => FioSpan(r.Output)).ToArray();
        var overlap = spans.Min(s => s.End) - spans.Max(s => s.Start);
        Assert.True(overlap >= MinOverlapSeconds, $"the fio runs overlapped by {overlap} s: " + string.Join(", ", spans));

        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());

        var volumes = JsonSerializer.Deserialize<List<BlockVolume>>(File.ReadAllText(VolumeTable.PathFor(Image))) ?? [];
        foreach (var guest in guests)
        {
            var volume = Assert.Single(volumes, v => v.Name == guest.Disk);
            Assert.Equal(DiskBytes, volume.Size);
            var others = guests.Where(g => g != guest).Select(g => g.Pattern).ToArray();
            var (own, other, neither) = CountBlocks(ImageFile.Read(Image, volume.Offset, DiskBytes), guest.Pattern, others);
            var census = $"{guest.Disk} at {volume.Offset}: {own} blocks of its pattern, {other} of another guest's, {neither} of neither";
            _output.WriteLine(census);
            Assert.True(own == DiskBytes / BlockBytes, census);
        }
    }

    /// <summary>
    /// Fills the whole disk once in random order with blocks of 4 KiB to 256 KiB (fio's random map
    /// writes every block exactly once), each filled with the guest's pattern behind a crc32c
    /// header, then reads it all back and checks every block.
    /// </summary>
    private static string FioScript(Guest guest) =>
        $"""
        #!/bin/sh
        echo "SERIAL $(cat /sys/block/vda/serial)"
        echo "FIO-START $(date +%s)"
        fio --name={guest.Disk} --filename=/dev/vda --rw=randwrite --bsrange=4k-256k --direct=1 --ioengine=libaio --iodepth=8 \
            --randseed={guest.Seed} --verify=crc32c --verify_pattern=0x{guest.Pattern:x2} --do_verify=1 --verify_fatal=1 --loops={Loops} > /tmp/fio 2>&1
        status=$?
        echo "FIO-END $(date +%s)"
        grep -E "err=|verify|WRITE:|READ:" /tmp/fio
        exit $status
        """;

    /// <summary>When, by the guest's clock, its fio started and ended (whole seconds).</summary>
    private static (long Start, long End) FioSpan(string console) =>
        FioTimes().Match(console) is { Success: true } m
            ? (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))
            : throw new InvalidOperationException("no FIO-START and FIO-END lines in: " + console);

    /// <summary>Sorts the 4 KiB blocks of <paramref name="volume"/> by the byte that fills them past the header.</summary>
    private static (int Own, int Other, int Neither) CountBlocks(byte[] volume, byte own, byte[] others)
    {
        var counts = (Own: 0, Other: 0, Neither: 0);
        for (var block = 0; block < volume.Length; block += BlockBytes)
        {
            var body = volume.AsSpan(block + HeaderBytes, BlockBytes - HeaderBytes);
            var uniform = !body.ContainsAnyExcept(body[0]);
            if (uniform && body[0] == own)
            {
                counts.Own++;
            }
            else if (uniform && others.Contains(body[0]))
            {
                counts.Other++;
            }
            else
            {
                counts.Neither++;
            }
        }

        return counts;
    }

    [GeneratedRegex(@"FIO-START (\d+)\s.*?FIO-END (\d+)", RegexOptions.Singleline)]
    private static partial Regex FioTimes();

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
