using IoVirt.Testing;

namespace IoVirt.Tests.Integration;

/// <summary>
/// A guest in QEMU on a volume of `iovirt mux` whose limit keeps its requests waiting at the
/// arbiter, so a kill -9 always finds some in flight: the restarted mux must resubmit exactly
/// those, from the inflight buffer QEMU kept, for fio's verify to pass. (On an unthrottled back
/// end a TCG guest is the bottleneck and the kill rarely finds a request in flight.)
/// </summary>
[Collection(QemuCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class QemuMuxRestartTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-qemu-mux-restart-").FullName;

    private string Socket => Path.Combine(_directory, "guest.sock");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Requests_waiting_at_a_killed_mux_are_resubmitted_by_its_successor(bool packed)
    {
        var image = Path.Combine(_directory, "shared.img");
        using (var file = File.Create(image))
        {
            file.SetLength(64 << 20);
        }

        // 16 KiB writes cost 1.75 units: about 230 a second, where the guest would issue thousands.
        var config = Path.Combine(_directory, "mux.json");
        File.WriteAllText(config, $$"""{ "image": "{{image}}", "capacityIops": 100000, "disks": [ { "name": "guest", "socket": "{{Socket}}", "size": "32M", "limitIops": 400 } ] }""");
        using var second = await BackEndRestartUnderFio.Run(
            Socket, packed, "8M", 2, () => StartMux(config), r => r.GetProperty("disks").GetProperty("tenants").GetProperty("guest").GetProperty("requests").GetInt64());
        Assert.Matches(@"ring 0: resubmitting [1-9]\d* requests left in flight", second.Stderr);
    }

    private DaemonProcess StartMux(string config)
    {
        var daemon = DaemonProcess.Start("mux", "--config", config, "--log-level", "debug");
        daemon.WaitForSocket(Socket);
        return daemon;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
