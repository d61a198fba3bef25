using IoVirt.Abi.Blk;
using IoVirt.Backends.Blk.Client;
using IoVirt.Testing;

namespace IoVirt.Tests.Daemon;

/// <summary>
/// The cluster's only OSD stops while a guest's requests are in flight (its own cluster, as
/// the rest of the suite must not see it go). Without a timeout the requests wait and complete
/// once it is back; with one, they fail with IOERR, and the daemon serves the next ones.
/// </summary>
[Trait(Tier.Name, Tier.Integration)]
public sealed class RbdOsdRestartTests(CephCluster cluster) : IClassFixture<CephCluster>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iovirt-rbd-osd-").FullName;

    private string Socket => Path.Combine(_directory, "blk.sock");

    [Fact]
    public void Requests_wait_out_an_osd_restart_and_complete_with_the_data_written()
    {
        using var daemon = Serve(string.Empty);
        using var client = BlkClient.Connect(Socket);

        cluster.StopOsd();
        try
        {
            Write(client, 0, 2048, 0xa5);
            Assert.False(client.WaitComplete(out _, out _, 3_000), "a write completed with no OSD up");
        }
        finally
        {
            cluster.StartOsd();
        }

        Assert.True(client.WaitComplete(out _, out var after, 60_000), "the write did not complete once the OSD was back");
        Assert.Equal(VirtioBlkStatus.Ok, after);
        client.Data(0)[..4096].Clear();
        Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, 2048, 4096));
        Assert.All(client.Data(0)[..4096].ToArray(), b => Assert.Equal(0xa5, b));
        Assert.Equal(0, daemon.StopAndReadReport().GetProperty("totals").GetProperty("errorsReported").GetInt64());
    }

    [Fact]
    public void Past_its_timeout_a_request_fails_with_ioerr_and_the_daemon_serves_the_next()
    {
        using var daemon = Serve(",timeout=3");
        using var client = BlkClient.Connect(Socket);

        cluster.StopOsd();
        try
        {
            Write(client, 0, 4096, 0xa5);
            Assert.True(client.WaitComplete(out _, out var timedOut, 30_000), "the write neither completed nor timed out");
            Assert.Equal(VirtioBlkStatus.IoError, timedOut);
        }
        finally
        {
            cluster.StartOsd();
        }

        Write(client, 0, 6144, 0x3c);
        Assert.True(client.WaitComplete(out _, out var next, 30_000), "the daemon did not serve a write after the OSD came back");
        Assert.Equal(VirtioBlkStatus.Ok, next);
        client.Data(0)[..4096].Clear();
        Assert.Equal(VirtioBlkStatus.Ok, client.Execute(VirtioBlkRequestType.In, 6144, 4096));
        Assert.All(client.Data(0)[..4096].ToArray(), b => Assert.Equal(0x3c, b));
        daemon.WaitForStderr("Connection timed out");
    }

    /// <summary>Serves a new image with <paramref name="options"/> after its spec, once it has completed a first write (the cluster is reached).</summary>
    private DaemonProcess Serve(string options)
    {
        cluster.CreateImage(16 << 20, out var name);
        var daemon = DaemonProcess.Start("blk", "--socket", Socket, "--image", cluster.Spec(name, options));
        try
        {
            daemon.WaitForSocket(Socket);
            using var client = BlkClient.Connect(Socket);
            client.WriteFilled(8, 0x5a, 4096);
            return daemon;
        }
        catch
        {
            daemon.Dispose();
            throw;
        }
    }

    /// <summary>Adds a 4 KiB write of <paramref name="value"/> at <paramref name="sector"/> in <paramref name="slot"/>, without waiting.</summary>
    private static void Write(BlkClient client, int slot, ulong sector, byte value)
    {
        client.Data(slot)[..4096].Fill(value);
        client.Add(slot, VirtioBlkRequestType.Out, sector, 4096);
        client.Publish();
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
