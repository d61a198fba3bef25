using IoVirt.Abi.Virtio;
using IoVirt.Interop;
using IoVirt.Machine.Pci;
using IoVirt.Testing;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using Microsoft.Extensions.Logging;

namespace IoVirt.Tests.Machine;

/// <summary>
/// The VMM's vhost-user device when its back end dies with requests in flight: it reconnects to
/// the back end's successor on the same socket and starts the rings again. What the old back end
/// held is resubmitted once, from the inflight buffer, and the ring goes on. Split and packed.
/// </summary>
public sealed class VhostUserBackendRestartTests
{
    private const int QueueSize = 16;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Requests_held_by_a_dead_back_end_complete_once_on_its_successor(bool packed)
    {
        var holding = new NumberedRequestDevice(holdEven: true);
        using var bed = new VhostUserTestBed(holding);
        using var kick = EventFd.Create();
        using var call = EventFd.Create();
        var vmmLog = new RecordingLogger();
        using var device = VhostUserBackend.Connect(bed.SocketPath, VirtioDeviceId.Entropy, bed.Memory, vmmLog, offerPacked: packed);
        var ring = packed ? RingLayout.Packed(VhostUserTestBed.RingBase(0), QueueSize) : RingLayout.Split(VhostUserTestBed.RingBase(0), QueueSize);
        DriverQueue driver = packed ? new PackedDriverQueue(bed.Memory, ring) : new SplitDriverQueue(bed.Memory, ring);
        var features = device.Features & ~VirtioFeature.Bit(VirtioFeature.RingEventIdx);
        Assert.Equal(packed, (features & VirtioFeature.Bit(VirtioFeature.RingPacked)) != 0);
        device.Activate(features, [new VirtioQueueSetup(0, QueueSize, ring.DescriptorTable, ring.DriverArea, ring.DeviceArea, kick, call)]);

        var numbers = new Dictionary<ushort, int>();
        for (var number = 1; number <= 6; number++)
        {
            numbers[NumberedRequestDevice.Add(driver, number)] = number;
        }

        driver.PublishAvail();
        kick.Signal();
        Assert.Equal([1, 3, 5], Collect(driver, call, numbers, 3).Order());
        Assert.True(SpinWait.SpinUntil(() => holding.Seen.Length == 6, 5000));

        // The back end dies holding 2, 4 and 6; a new one starts on the same socket. The guest does nothing.
        var successor = new NumberedRequestDevice(holdEven: false);
        bed.RestartServer(successor);

        Assert.Equal([2, 4, 6], Collect(driver, call, numbers, 3));
        Assert.Equal([2, 4, 6], successor.Seen);
        // The watcher logs after it started the rings, which may be after the completions.
        Assert.True(SpinWait.SpinUntil(() => vmmLog.Contains(LogLevel.Warning, "1 rings resumed"), 5000), string.Join('\n', vmmLog.Lines));

        // The ring goes on from there, nothing completed twice.
        numbers[NumberedRequestDevice.Add(driver, 7)] = 7;
        driver.PublishAvail();
        kick.Signal();
        Assert.Equal([7], Collect(driver, call, numbers, 1));
        call.Wait(200);
        Assert.False(driver.TryTakeUsed(out _, out _), "a request completed twice");
        Assert.Equal(0, driver.Outstanding);
        Assert.Equal([2, 4, 6, 7], successor.Seen);
    }

    /// <summary>The next <paramref name="count"/> completions, as request numbers, sleeping on the interrupt eventfd.</summary>
    private static List<int> Collect(DriverQueue driver, EventFd call, Dictionary<ushort, int> numbers, int count)
    {
        var done = new List<int>();
        var deadline = Environment.TickCount64 + 10_000;
        while (done.Count < count)
        {
            if (driver.TryTakeUsed(out var id, out _))
            {
                done.Add(numbers[id]);
                continue;
            }

            Assert.Equal(QueueError.None, driver.Fault);
            var left = deadline - Environment.TickCount64;
            Assert.True(left > 0, $"only {done.Count} of {count} completions arrived");
            call.Wait((int)left);
        }

        return done;
    }
}
