using System.Buffers.Binary;
using IoVirt.Abi.Virtio;
using IoVirt.Devices;
using IoVirt.Memory;
using IoVirt.Virtqueue;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Testing;

/// <summary>
/// A device for restart tests. Each request carries its number in its first buffer. The device
/// records the numbers in pop order and, with <c>holdEven</c>, never completes the even ones,
/// so they stay in flight until a back end dies.
/// </summary>
public sealed class NumberedRequestDevice(bool holdEven) : VirtioDeviceModel
{
    private readonly List<int> _seen = [];

    public override string Name => "numbered";

    public override ulong Features =>
        VirtioFeature.Bit(VirtioFeature.Version1) | VirtioFeature.Bit(VirtioFeature.RingEventIdx) | VirtioFeature.Bit(VirtioFeature.RingPacked);

    public override int MaxQueueSize => 16;

    /// <summary>The numbers popped so far, in order.</summary>
    public int[] Seen
    {
        get
        {
            lock (_seen)
            {
                return [.. _seen];
            }
        }
    }

    /// <summary>Adds request <paramref name="number"/> (a 4-byte readable buffer, a 4-byte writable one) to <paramref name="driver"/>.</summary>
    public static ushort Add(DriverQueue driver, int number)
    {
        ArgumentNullException.ThrowIfNull(driver);
        var address = VhostUserTestBed.DataBase + ((ulong)number * 64);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(word, number);
        if (driver.Memory.Write(address, word) != MemoryFault.None || !driver.TryAdd([new DriverBuffer(address, 4, false), new DriverBuffer(address + 32, 4, true)], false, out var id))
        {
            throw new InvalidOperationException($"request {number} did not fit the ring");
        }

        return id;
    }

    public override void ProcessQueue(int queueIndex, DeviceQueue queue)
    {
        Span<byte> word = stackalloc byte[4];
        while (queue.TryPop(out var chain))
        {
            if (!chain.TryGetNext(out var request) || queue.Memory.Read(request.GuestAddress, word) != MemoryFault.None)
            {
                throw new InvalidOperationException("a numbered request without its number");
            }

            var number = BinaryPrimitives.ReadInt32LittleEndian(word);
            lock (_seen)
            {
                _seen.Add(number);
            }

            if (!(holdEven && number % 2 == 0))
            {
                queue.AddUsed(chain.Head, 0);
            }
        }
    }
}
