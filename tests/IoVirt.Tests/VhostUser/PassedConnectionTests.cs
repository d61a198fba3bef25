using IoVirt.Interop;
using IoVirt.Testing;
using IoVirt.Virtqueue.Driver;
using IoVirt.VhostUser;

namespace IoVirt.Tests.VhostUser;

/// <summary><see cref="VhostUserServer.ForConnection"/>: one front end's connection, served until it goes, and nothing after.</summary>
public class PassedConnectionTests
{
    [Fact]
    public async Task A_server_for_a_passed_connection_serves_it_and_ends_when_the_front_end_goes()
    {
        var (backEnd, frontEnd) = UnixSocket.Pair();
        var log = new RecordingLogger();
        using var server = VhostUserServer.ForConnection(backEnd, "descriptor 3", new EchoDevice(), log);
        server.Start();
        using (var memory = new IoVirt.Memory.GuestMemory(IoVirt.Memory.GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, 1 << 20)))
        using (var frontend = VhostUserFrontend.Over(frontEnd))
        using (var queue = FirstRing.Start(frontend, memory))
        {
            var data = VhostUserTestBed.MemoryBase + 0x8_0000;
            Assert.True(queue.Driver.TryAdd([new DriverBuffer(data, 8, false), new DriverBuffer(data + 64, 8, true)], false, out _));
            queue.Submit();
            Assert.True(queue.TryWaitUsed(out _, out var written, 5000));
            Assert.Equal(8u, written);
            Assert.False(server.Ended.IsCompleted);
        }

        // Throws TimeoutException when the server does not end with its connection.
        await server.Ended.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, server.Connections);
        Assert.Equal(0, server.ConnectionsClosedForErrors);
        Assert.False(server.OwnsSocketFile);
    }

    [Fact]
    public void A_server_disposed_before_it_starts_closes_its_connection_and_has_ended()
    {
        var (backEnd, frontEnd) = UnixSocket.Pair();
        using var peer = frontEnd;
        var server = VhostUserServer.ForConnection(backEnd, "descriptor 3", new EchoDevice(), new RecordingLogger());
        server.Dispose();
        Assert.True(server.Ended.IsCompleted);

        // The back end's end is closed: the peer reads end of file.
        Assert.Equal(0, peer.Receive(new byte[1], new Microsoft.Win32.SafeHandles.SafeFileHandle?[1], out _));
    }
}
