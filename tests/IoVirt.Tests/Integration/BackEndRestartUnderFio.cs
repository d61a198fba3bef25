using System.Text.Json;
using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// The kill -9 scenario of the QEMU restart tests: a guest runs fio's verified 16 KiB random
/// writes at QD16 on a vhost-user-blk disk that reconnects (reconnect=1, split or packed); once
/// the back end has served 100 requests (fio's writes are under way; the firmware starts the
/// rings long before the guest's kernel, so the handshake says nothing about that) it is killed
/// and a successor started on the same socket, and the guest must finish with fio's verify clean.
/// </summary>
internal static class BackEndRestartUnderFio
{
    /// <summary>Runs the scenario with back ends from <paramref name="start"/>, counting served requests with <paramref name="served"/> (from a report); returns the successor, still running.</summary>
    public static async Task<DaemonProcess> Run(string socket, bool packed, string fioSize, int loops, Func<DaemonProcess> start, Func<JsonElement, long> served)
    {
        var first = start();
        DaemonProcess? second = null;
        try
        {
            var guest = Task.Run(() => QemuGuest.Run(
                $"""
                #!/bin/sh
                echo "PACKED $(cut -c35 /sys/block/vda/device/features)"
                fio --name=restart --filename=/dev/vda --rw=randwrite --bs=16k --size={fioSize} --direct=1 \
                    --ioengine=libaio --iodepth=16 --loops={loops} --verify=crc32c --do_verify=1 --verify_fatal=1 2>&1 | grep -E "err=|verify|WRITE:"
                """,
                QemuGuest.VhostUserBlk(socket, packed ? ",packed=on" : "", chardevOptions: ",reconnect=1"),
                timeoutSeconds: 180));

            Assert.True(first.WaitForReport(served, 100, () => guest.IsCompleted), "the guest finished before the back end could be killed");
            first.Signal(9);
            first.WaitForExit();
            second = start();

            var (exit, output) = await guest;
            Assert.True(exit == 0, output + first.Stderr + second.Stderr);
            Assert.Contains($"PACKED {(packed ? 1 : 0)}", output, StringComparison.Ordinal);
            Assert.Matches(QemuBlkTests.ErrZero(), output);
            return second;
        }
        catch
        {
            second?.Dispose();
            throw;
        }
        finally
        {
            first.Dispose();
        }
    }
}
