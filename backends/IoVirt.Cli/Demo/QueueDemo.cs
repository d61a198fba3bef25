using System.Buffers.Binary;
using System.Diagnostics;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;
using IoVirt.Virtqueue.Packed;
using IoVirt.Virtqueue.Split;

namespace IoVirt.Cli.Demo;

/// <summary>
/// A driver thread and a device thread exchanging requests through one virtqueue in shared
/// memory, with notification suppression as a real device and driver use it: each request
/// carries a sequence number the device answers with a derived value the driver checks.
/// </summary>
internal sealed class QueueDemo(bool packed, int queueSize, long requests, TextWriter output)
{
    private const int SlotBytes = 16;

    public int Run()
    {
        var ringBytes = packed ? RingLayout.PackedBytes(queueSize) : RingLayout.SplitBytes(queueSize);
        var dataBase = 0x10_0000 + ((ringBytes + 4095) & ~4095UL);
        using var memory = new GuestMemory(GuestRegion.CreateMemfd(0x10_0000, dataBase - 0x10_0000 + ((ulong)queueSize * SlotBytes), "iovirt-demo"));
        var config = packed ? RingLayout.Packed(0x10_0000, queueSize, eventIdx: true) : RingLayout.Split(0x10_0000, queueSize, eventIdx: true);
        var device = CreateDevice(memory, config);
        DriverQueue driver = packed ? new PackedDriverQueue(memory, config) : new SplitDriverQueue(memory, config);

        using var kick = new SemaphoreSlim(0);
        using var interrupt = new SemaphoreSlim(0);
        using var stop = new CancellationTokenSource();
        var deviceThread = SelfNamedThread.Create("demo-device", () => ServeDevice(device, memory, kick, interrupt, stop.Token));
        var watch = Stopwatch.StartNew();
        deviceThread.Start();
        var (completed, kicks, interrupts, mismatches) = DriveRequests(driver, dataBase, kick, interrupt);
        watch.Stop();
        stop.Cancel();
        kick.Release();
        deviceThread.Join();

        var format = packed ? "packed" : "split";
        var rate = completed / watch.Elapsed.TotalSeconds;
        output.WriteLine($"{format,-6} ring, {queueSize} entries: {completed:N0} requests in {watch.Elapsed.TotalMilliseconds:N0} ms = {rate / 1e6:N2} M requests/s " +
            $"({kicks:N0} kicks, {interrupts:N0} interrupts, {mismatches} wrong answers, device fault: {device.Fault})");
        return mismatches == 0 && device.Fault == QueueError.None && driver.Fault == QueueError.None ? 0 : 1;
    }

    private DeviceQueue CreateDevice(GuestMemory memory, QueueConfig config)
    {
        QueueError error;
        DeviceQueue? device;
        if (packed)
        {
            error = PackedQueue.TryCreate(memory, config, QueuePosition.Initial, out var queue);
            device = queue;
        }
        else
        {
            error = SplitQueue.TryCreate(memory, config, QueuePosition.Initial, out var queue);
            device = queue;
        }

        return device ?? throw new InvalidOperationException($"The demo queue was rejected: {error}");
    }

    private (long Completed, long Kicks, long Interrupts, long Mismatches) DriveRequests(DriverQueue driver, ulong dataBase, SemaphoreSlim kick, SemaphoreSlim interrupt)
    {
        var freeSlots = new Stack<int>(Enumerable.Range(0, queueSize));
        var slotOf = new int[queueSize];
        var sequenceOf = new long[queueSize];
        long submitted = 0, completed = 0, kicks = 0, interrupts = 0, mismatches = 0;
        Span<DriverBuffer> chain = stackalloc DriverBuffer[2];
        Span<byte> word = stackalloc byte[8];
        while (completed < requests)
        {
            while (submitted < requests && freeSlots.Count > 0)
            {
                var slot = freeSlots.Pop();
                var address = dataBase + ((ulong)slot * SlotBytes);
                BinaryPrimitives.WriteInt64LittleEndian(word, submitted);
                _ = driver.Memory.Write(address, word);
                chain[0] = new DriverBuffer(address, 8, IsWritable: false);
                chain[1] = new DriverBuffer(address + 8, 8, IsWritable: true);
                if (!driver.TryAdd(chain, indirect: false, out var id))
                {
                    freeSlots.Push(slot);
                    break;
                }

                slotOf[id] = slot;
                sequenceOf[id] = submitted++;
            }

            driver.PublishAvail();
            if (driver.NeedsKick())
            {
                kicks++;
                kick.Release();
            }

            var taken = 0;
            while (driver.TryTakeUsed(out var id, out var written))
            {
                var slot = slotOf[id];
                _ = driver.Memory.Read(dataBase + ((ulong)slot * SlotBytes) + 8, word);
                if (written != 8 || BinaryPrimitives.ReadInt64LittleEndian(word) != (sequenceOf[id] * 2) + 1)
                {
                    mismatches++;
                }

                freeSlots.Push(slot);
                completed++;
                taken++;
            }

            if (taken == 0 && driver.EnableInterrupts() is false)
            {
                interrupt.Wait();
                interrupts++;
            }

            driver.DisableInterrupts();
            if (driver.Fault != QueueError.None)
            {
                break;
            }
        }

        return (completed, kicks, interrupts, mismatches);
    }

    private static void ServeDevice(DeviceQueue queue, GuestMemory memory, SemaphoreSlim kick, SemaphoreSlim interrupt, CancellationToken stop)
    {
        Span<byte> word = stackalloc byte[8];
        while (!stop.IsCancellationRequested && !queue.IsBroken)
        {
            queue.DisableNotifications();
            while (queue.TryPop(out var chain))
            {
                ulong request = 0;
                var written = 0u;
                while (chain.TryGetNext(out var buffer))
                {
                    if (!buffer.IsWritable && buffer.Length == 8)
                    {
                        _ = memory.Read(buffer.GuestAddress, word);
                        request = BinaryPrimitives.ReadUInt64LittleEndian(word);
                    }
                    else if (buffer.IsWritable && buffer.Length == 8)
                    {
                        BinaryPrimitives.WriteUInt64LittleEndian(word, (request * 2) + 1);
                        _ = memory.Write(buffer.GuestAddress, word);
                        written = 8;
                    }
                }

                queue.AddUsed(chain.Head, written);
            }

            queue.PublishUsed();
            if (queue.NeedsInterrupt())
            {
                interrupt.Release();
            }

            if (!queue.EnableNotifications())
            {
                kick.Wait(CancellationToken.None);
            }
        }
    }
}
