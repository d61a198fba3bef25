using IoVirt.Abi.Virtio;
using IoVirt.Backends.Rng;
using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Machine.Pci;
using IoVirt.Memory;
using IoVirt.VhostUser;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoVirt.Tests.Machine;

/// <summary>
/// A VMM's in-process device: the device model served by a session in this process, handed the
/// rings as a vhost-user daemon is, so the guest's kick reaches the device's worker and the
/// device's completion raises the guest's interrupt without the VMM in between.
/// </summary>
public sealed class InProcessBackendTests : IDisposable
{
    private const int QueueSize = 8;
    private const ulong Buffer = 0x10000;
    private readonly GuestMemory _memory = new(GuestRegion.CreateMemfd(0, 1 << 20, "iovirt-in-process-test"));
    private readonly EventFd _kick = EventFd.Create();
    private readonly EventFd _call = EventFd.Create();
    private readonly QueueConfig _ring = RingLayout.Split(0x1000, QueueSize);

    public void Dispose()
    {
        _kick.Dispose();
        _call.Dispose();
        _memory.Dispose();
    }

    [Fact]
    public void The_rng_fills_a_queued_buffer_and_interrupts_through_the_eventfds()
    {
        using var device = VhostUserBackend.InProcess(new InProcessBackend(new RngDevice(), NullLogger.Instance), VirtioDeviceId.Entropy, _memory, NullLogger.Instance);
        Assert.Equal(1, device.QueueCount);
        Activate(device);
        var driver = new SplitDriverQueue(_memory, _ring);

        Assert.True(driver.TryAdd([new DriverBuffer(Buffer, 64, IsWritable: true)], indirect: false, out var id));
        driver.PublishAvail();
        _kick.Signal();

        var (used, written) = WaitForUsed(driver);
        Assert.Equal(id, used);
        Assert.Equal(64u, written);
        Span<byte> bytes = stackalloc byte[64];
        Assert.Equal(MemoryFault.None, _memory.Read(Buffer, bytes));
        Assert.True(bytes.ContainsAnyExcept((byte)0), "the buffer is still zero");
    }

    [Fact]
    public void Disposing_the_device_ends_its_session_and_resets_the_model()
    {
        var model = new CountingDevice();
        var device = VhostUserBackend.InProcess(new InProcessBackend(model, NullLogger.Instance), VirtioDeviceId.Entropy, _memory, NullLogger.Instance);
        Activate(device);
        var driver = new SplitDriverQueue(_memory, _ring);
        Assert.True(driver.TryAdd([new DriverBuffer(Buffer, 8, IsWritable: true)], indirect: false, out _));
        driver.PublishAvail();
        _kick.Signal();
        _ = WaitForUsed(driver);

        device.Dispose();

        // Dispose waits for the session, whose end resets the model: no wait needed here.
        Assert.Equal(1, model.Processed);
        Assert.True(model.Resets >= 1);
    }

    /// <summary>
    /// Waits for interrupts until the device has used a buffer. As a driver does, it looks at the
    /// ring on each one: one may come for nothing (the call descriptor is set on a running ring).
    /// </summary>
    private (ushort Id, uint Written) WaitForUsed(SplitDriverQueue driver)
    {
        while (_call.Wait(10_000))
        {
            if (driver.TryTakeUsed(out var id, out var written))
            {
                return (id, written);
            }
        }

        throw new Xunit.Sdk.XunitException("no interrupt from the in-process device");
    }

    private void Activate(VhostUserBackend device) =>
        device.Activate(
            device.Features & ~VirtioFeature.Bit(VirtioFeature.RingEventIdx),
            [new VirtioQueueSetup(0, QueueSize, _ring.DescriptorTable, _ring.DriverArea, _ring.DeviceArea, _kick, _call)]);

    /// <summary>Completes each request with nothing written, counting requests and resets.</summary>
    private sealed class CountingDevice : VirtioDeviceModel
    {
        private int _resets;
        private int _processed;

        public int Resets => Volatile.Read(ref _resets);

        public int Processed => Volatile.Read(ref _processed);

        public override string Name => "counting";

        public override ulong Features => RingFeatures;

        public override void ProcessQueue(int queueIndex, DeviceQueue queue)
        {
            while (queue.TryPop(out var chain))
            {
                queue.AddUsed(chain.Head, 0);
                Interlocked.Increment(ref _processed);
            }
        }

        public override void Reset() => Interlocked.Increment(ref _resets);
    }
}
