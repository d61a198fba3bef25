using FsCheck;
using FsCheck.Fluent;
using IoVirt.Backends.Blk.Load;
using IoVirt.Testing;

namespace IoVirt.Tests.Blk;

/// <summary>
/// The verifying load run's stamps and its checks: a stamp reads back as itself and nothing else
/// does, and `iovirt bench-blk --verify` against a real back end passes on its own data and
/// fails on an image changed behind its back.
/// </summary>
public sealed class BlockVerifierTests : IDisposable
{
    private const ulong Tag = 0x1234_5678_9abc_def0;
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-verify-").FullName;

    [Fact]
    public void A_stamped_sector_reads_back_with_its_generation_and_any_changed_byte_makes_it_foreign()
    {
        var property = Prop.ForAll(
            Gen.Choose(0, 511).ToArbitrary(),
            Gen.Choose(1, 255).ToArbitrary(),
            Gen.Choose(0, 1 << 30).ToArbitrary(),
            (index, change, sector) =>
            {
                var data = new byte[512];
                BlockStamp.Write(data, (ulong)sector, generation: 7, Tag);
                Assert.Equal(BlockStamp.Reading.Stamped, BlockStamp.Read(data, (ulong)sector, Tag, out var generation));
                Assert.Equal(7UL, generation);
                Assert.Equal(BlockStamp.Reading.Foreign, BlockStamp.Read(data, (ulong)sector + 1, Tag, out _));
                Assert.Equal(BlockStamp.Reading.Foreign, BlockStamp.Read(data, (ulong)sector, Tag ^ 1, out _));

                data[index] ^= (byte)change;
                var reading = BlockStamp.Read(data, (ulong)sector, Tag, out generation);

                // A change in the generation field is still a whole stamp, of another generation.
                Assert.True(reading == BlockStamp.Reading.Foreign || (index is >= 16 and < 24 && generation != 7));
            });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void A_block_written_in_the_run_must_read_as_its_last_write_and_an_unknown_block_as_zeros_or_its_own_stamp()
    {
        var verifier = new BlockVerifier(blocks: 4, sectorsPerBlock: 8, Tag);
        var block = new byte[4096];

        verifier.BeginRead(2);
        verifier.EndRead(2, block);
        var first = verifier.BeginWrite(1, block);
        verifier.EndWrite(1, first, succeeded: true);
        var stale = block.ToArray();
        var second = verifier.BeginWrite(1, block);
        verifier.EndWrite(1, second, succeeded: true);
        verifier.BeginRead(1);
        verifier.EndRead(1, block);
        Assert.Equal(0, verifier.Mismatches);

        // The older write's data for a block written since is wrong, as are zeros there and block 1's data at block 3.
        verifier.BeginRead(1);
        verifier.EndRead(1, stale);
        verifier.BeginRead(1);
        verifier.EndRead(1, new byte[4096]);
        verifier.BeginRead(3);
        verifier.EndRead(3, block);
        Assert.Equal(24, verifier.Mismatches);
        Assert.Equal(5 * 4096, verifier.VerifiedBytes);
        Assert.Contains("sector 8: expected generation 2, read generation 1", verifier.FirstMismatches);
    }

    [Fact]
    [Trait(Tier.Name, Tier.Integration)]
    public void Bench_blk_verify_passes_on_its_own_writes_and_fails_on_data_changed_behind_its_back()
    {
        var image = Path.Combine(_directory, "disk.img");
        var socket = Path.Combine(_directory, "blk.sock");
        File.WriteAllBytes(image, new byte[4 << 20]);
        using var daemon = DaemonProcess.Start("blk", "--socket", socket, "--image", image, "--serial", "verified");
        daemon.WaitForSocket(socket);

        using (var writer = BenchBlk(socket, "--rw", "randrw", "--iodepth", "16", "--runtime", "1", "--ramp", "0", "--size", "1M"))
        {
            Assert.Equal(0, writer.WaitForExit(60_000));
            Assert.Matches(@"verified [1-9]\d* bytes, 0 wrong sectors", writer.Stderr);
        }

        // The daemon holds the image locked: change it while the daemon is stopped, as something outside the data path would.
        daemon.Signal(15);
        Assert.Equal(0, daemon.WaitForExit());

        // Every sector of the first MiB now holds a stamp of its own; move one sector's stamp onto another.
        var sectors = ImageFile.Read(image, 0, 1 << 20);
        Assert.Equal(BlockStamp.Reading.Stamped, BlockStamp.Read(sectors.AsSpan(512 * 4, 512), 4, BlockStamp.Tag("verified"u8), out _));
        for (var sector = 0; sector < 2048; sector += 2)
        {
            ImageFile.Write(image, 512L * (sector + 1), sectors.AsSpan(512 * sector, 512));
        }

        using var restarted = DaemonProcess.Start("blk", "--socket", socket, "--image", image, "--serial", "verified");
        restarted.WaitForSocket(socket);
        using var reader = BenchBlk(socket, "--rw", "randread", "--iodepth", "4", "--runtime", "1", "--ramp", "0", "--size", "1M");
        Assert.Equal(1, reader.WaitForExit(60_000));
        Assert.Matches(@"verified [1-9]\d* bytes, [1-9]\d* wrong sectors", reader.Stderr);
        Assert.Contains("foreign or damaged data", reader.Stderr, StringComparison.Ordinal);
    }

    private static DaemonProcess BenchBlk(string socket, params string[] options) => DaemonProcess.Start(["bench-blk", "--socket", socket, "--verify", .. options]);

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
