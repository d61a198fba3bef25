using System.Security.Cryptography;
using System.Text.RegularExpressions;
using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// A Linux guest in QEMU (KVM where it works, TCG otherwise) uses /dev/vda through
/// vhost-user-blk-pci, served by `iovirt blk` on an image file the test then reads itself.
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed partial class QemuBlkTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-qemu-blk-").FullName;

    private string Image => Path.Combine(_directory, "disk.img");

    private string Socket => Path.Combine(_directory, "blk.sock");

    public QemuBlkTests()
    {
        using var file = File.Create(Image);
        file.SetLength(128 << 20);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    public void Fio_verifies_random_writes_of_4k_to_1m_on_every_queue(int queues, bool packed)
    {
        using var daemon = StartDaemon("--queues", queues.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var (exit, output) = QemuGuest.Run(
            $"""
            #!/bin/sh
            echo "QUEUES $(ls /sys/block/vda/mq | wc -l)"
            fio --name=verify --filename=/dev/vda --rw=randwrite --bsrange=4k-1M --size=48M --direct=1 \
                --ioengine=libaio --iodepth=8 --numjobs={queues} --offset_increment=48M \
                --verify=crc32c --do_verify=1 --verify_fatal=1 --group_reporting 2>&1 | grep -E "err=|verify|WRITE:|READ:"
            """,
            // Linux gives a virtio-blk disk at most one queue per CPU.
            [.. QemuGuest.VhostUserBlk(Socket, (queues > 1 ? $",num-queues={queues}" : "") + (packed ? ",packed=on" : "")), "-smp", queues.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            timeoutSeconds: 180);

        Assert.True(exit == 0, output + daemon.Stderr);
        Assert.Contains($"QUEUES {queues}", output, StringComparison.Ordinal);
        Assert.Matches(ErrZero(), output);
        Assert.DoesNotContain("fail", daemon.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_read_only_disk_is_read_only_in_the_guest_and_refuses_writes()
    {
        using var daemon = StartDaemon("--readonly");
        var (exit, output) = QemuGuest.Run(
            """
            #!/bin/sh
            echo "RO $(cat /sys/block/vda/ro) DISCARD $(cat /sys/block/vda/queue/discard_max_bytes)"
            dd if=/dev/vda of=/dev/null bs=64k count=16 && echo READ-OK
            if dd if=/dev/zero of=/dev/vda bs=4k count=1 oflag=direct 2>/dev/null; then echo WRITE-ACCEPTED; else echo WRITE-REFUSED; fi
            """,
            QemuGuest.VhostUserBlk(Socket));

        Assert.True(exit == 0, output + daemon.Stderr);
        Assert.Contains("RO 1 DISCARD 0", output, StringComparison.Ordinal);
        Assert.Contains("READ-OK", output, StringComparison.Ordinal);
        Assert.Contains("WRITE-REFUSED", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Discard_and_write_zeroes_zero_exactly_their_ranges()
    {
        using var daemon = StartDaemon();
        var (exit, output) = QemuGuest.Run(
            """
            #!/bin/sh
            set -e
            echo "LIMITS $(cat /sys/block/vda/queue/discard_max_bytes) $(cat /sys/block/vda/queue/write_zeroes_max_bytes)"
            dd if=/dev/urandom of=/tmp/orig bs=1M count=8 2>/dev/null
            dd if=/tmp/orig of=/dev/vda bs=1M oflag=direct 2>/dev/null
            blkdiscard -o 1048576 -l 2097152 /dev/vda
            /usr/sbin/blkdiscard -z -o 4194304 -l 1048576 /dev/vda
            dd if=/dev/vda of=/tmp/back bs=1M count=8 iflag=direct 2>/dev/null
            slice() { dd if="$1" bs=1M skip="$2" count="$3" 2>/dev/null | md5sum | cut -d' ' -f1; }
            zero() { dd if=/dev/zero bs=1M count="$1" 2>/dev/null | md5sum | cut -d' ' -f1; }
            [ "$(slice /tmp/back 1 2)" = "$(zero 2)" ] && echo DISCARDED-ZERO
            [ "$(slice /tmp/back 4 1)" = "$(zero 1)" ] && echo WRITE-ZEROES-ZERO
            [ "$(slice /tmp/back 0 1)" = "$(slice /tmp/orig 0 1)" ] && [ "$(slice /tmp/back 3 1)" = "$(slice /tmp/orig 3 1)" ] \
              && [ "$(slice /tmp/back 5 3)" = "$(slice /tmp/orig 5 3)" ] && echo REST-INTACT
            """,
            QemuGuest.VhostUserBlk(Socket));

        Assert.True(exit == 0, output + daemon.Stderr);
        Assert.DoesNotMatch(@"LIMITS 0 |LIMITS \d+ 0", output);
        Assert.Contains("DISCARDED-ZERO", output, StringComparison.Ordinal);
        Assert.Contains("WRITE-ZEROES-ZERO", output, StringComparison.Ordinal);
        Assert.Contains("REST-INTACT", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Fsynced_data_is_in_the_image_and_a_second_boot_on_a_new_daemon_reads_it_back()
    {
        string written;
        using (var daemon = StartDaemon())
        {
            var (exit, output) = QemuGuest.Run(
                """
                #!/bin/sh
                echo "CACHE $(cat /sys/block/vda/queue/write_cache)"
                dd if=/dev/urandom of=/tmp/data bs=1M count=4 2>/dev/null
                dd if=/tmp/data of=/dev/vda bs=1M conv=fsync 2>/dev/null
                echo "SHA $(sha256sum /tmp/data | cut -d' ' -f1)"
                """,
                QemuGuest.VhostUserBlk(Socket));
            Assert.True(exit == 0, output + daemon.Stderr);
            Assert.Contains("CACHE write back", output, StringComparison.Ordinal);
            written = Sha(output);

            // The guest's fsync returned: the data is in the image while the daemon still runs.
            Assert.Equal(written, ImageSha(4 << 20));
            daemon.Signal(15);
            Assert.Equal(0, daemon.WaitForExit());
        }

        using (var daemon = StartDaemon())
        {
            var (exit, output) = QemuGuest.Run(
                """
                #!/bin/sh
                echo "SHA $(dd if=/dev/vda bs=1M count=4 2>/dev/null | sha256sum | cut -d' ' -f1)"
                """,
                QemuGuest.VhostUserBlk(Socket));
            Assert.True(exit == 0, output + daemon.Stderr);
            Assert.Equal(written, Sha(output));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_guest_rides_out_a_kill_9_and_restart_of_the_back_end(bool packed)
    {
        // O_DIRECT: the writes take the disk's time, so the kill may find requests in flight.
        using var second = await BackEndRestartUnderFio.Run(
            Socket, packed, "64M", 4, () => StartDaemon("--direct", "--log-level", "debug"), r => r.GetProperty("totals").GetProperty("writes").GetInt64());
        second.WaitForStderr("front end connected (1)");
        second.WaitForStderr("SetVringKick");

        // QEMU hands the new back end the inflight buffer the first one kept (INFLIGHT_SHMFD).
        second.WaitForStderr("SetInflightFd");
    }

    private DaemonProcess StartDaemon(params string[] options)
    {
        var daemon = DaemonProcess.Start(["blk", "--socket", Socket, "--image", Image, .. options]);
        daemon.WaitForSocket(Socket);
        Assert.True(daemon.IsConfined, "the daemon runs without its sandbox");
        return daemon;
    }

    /// <summary>The SHA-256 of the image's first <paramref name="bytes"/>.</summary>
    private string ImageSha(int bytes) => Convert.ToHexStringLower(SHA256.HashData(ImageFile.Read(Image, 0, bytes)));

    private static string Sha(string output) => ShaLine().Match(output) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("no SHA line in: " + output);

    [GeneratedRegex(@"SHA ([0-9a-f]{64})")]
    private static partial Regex ShaLine();

    /// <summary>fio's summary line of a job that ended without error.</summary>
    [GeneratedRegex(@"err= ?0")]
    internal static partial Regex ErrZero();

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
