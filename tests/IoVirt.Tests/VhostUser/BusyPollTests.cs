using IoVirt.Testing;
using IoVirt.Virtqueue.Driver;
using IoVirt.VhostUser;

namespace IoVirt.Tests.VhostUser;

public class BusyPollTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_busy_polling_worker_serves_requests_that_are_never_kicked(bool yields)
    {
        var directory = Directory.CreateTempSubdirectory("iovirt-poll-").FullName;
        var socket = Path.Combine(directory, "echo.sock");
        var log = new RecordingLogger();
        using (var server = new VhostUserServer(socket, new EchoDevice { Yields = yields }, log, busyPoll: TimeSpan.FromSeconds(60)))
        using (var memory = new IoVirt.Memory.GuestMemory(IoVirt.Memory.GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, 1 << 20)))
        {
            server.Start();
            using var frontend = VhostUserFrontend.Connect(socket);
            using var queue = FirstRing.Start(frontend, memory);

            // Wake the worker once, so it starts polling.
            var data = VhostUserTestBed.MemoryBase + 0x8_0000;
            Assert.True(queue.Driver.TryAdd([new DriverBuffer(data, 8, false), new DriverBuffer(data + 64, 8, true)], false, out _));
            queue.Submit();
            Assert.True(queue.TryWaitUsed(out _, out _, 5000));

            // Now publish without ever kicking: only the polling worker can see these.
            for (var i = 0; i < 20; i++)
            {
                Assert.True(queue.Driver.TryAdd([new DriverBuffer(data, 8, false), new DriverBuffer(data + 64, 8, true)], false, out _));
                queue.Driver.PublishAvail();
                var deadline = Environment.TickCount64 + 5000;
                var done = false;
                while (!done && Environment.TickCount64 < deadline)
                {
                    done = queue.Driver.TryTakeUsed(out _, out var written) && written == 8;
                }

                Assert.True(done, $"request {i} was not served by polling");
            }

            // The control connection is not held up for the polling window (60 s).
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Assert.Equal(21u, frontend.GetVringBase(0));
            Assert.True(watch.ElapsedMilliseconds < 20_000, $"GET_VRING_BASE waited {watch.ElapsedMilliseconds} ms for the polling worker");
        }

        Directory.Delete(directory, recursive: true);
    }
}
