using IoVirt.Devices;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Virtqueue;

namespace IoVirt.Backends.Rng;

/// <summary>
/// virtio-rng (virtio 1.2 §5.4): one request queue of device-writable buffers, each filled with
/// random bytes from the host kernel. No config space, no device feature bits.
/// </summary>
public sealed class RngDevice : VirtioDeviceModel
{
    /// <summary>Most bytes one request gets; a larger buffer is filled up to this (the spec lets the device write fewer).</summary>
    public const int MaxBytesPerRequest = 64 * 1024;

    private readonly byte[] _scratch = new byte[MaxBytesPerRequest];
    private long _requests;
    private long _bytesServed;

    public override string Name => "rng";

    /// <summary>No device feature bits: the ring features only.</summary>
    public override ulong Features => RingFeatures;

    /// <summary>Requests completed since start (written by the queue's worker, read by anyone).</summary>
    public long Requests => Volatile.Read(ref _requests);

    /// <summary>Bytes handed to the guest since start.</summary>
    public long BytesServed => Volatile.Read(ref _bytesServed);

    public override void ProcessQueue(int queueIndex, DeviceQueue queue)
    {
        while (queue.TryPop(out var chain))
        {
            uint written = 0;
            while (chain.TryGetNext(out var buffer))
            {
                if (!buffer.IsWritable)
                {
                    continue; // the spec has no readable part; ignore one rather than fail the guest
                }

                var take = (int)Math.Min(buffer.Length, (uint)(MaxBytesPerRequest - (int)written));
                if (take == 0)
                {
                    break;
                }

                Fill(queue.Memory, buffer, take);
                written += (uint)take;
            }

            if (chain.Error != QueueError.None)
            {
                return;
            }

            queue.AddUsed(chain.Head, written);
            Volatile.Write(ref _requests, _requests + 1);
            Volatile.Write(ref _bytesServed, _bytesServed + written);
        }
    }

    private unsafe void Fill(GuestMemory memory, VirtqBuffer buffer, int length)
    {
        if (buffer.IsContiguous)
        {
            Entropy.Fill(new Span<byte>(buffer.Host, length));
        }
        else
        {
            var random = _scratch.AsSpan(0, length);
            Entropy.Fill(random);
            _ = memory.Write(buffer.GuestAddress, random);
            return;
        }

        memory.MarkDirty(buffer.GuestAddress, (ulong)length);
    }
}
