using IoVirt.Devices;
using IoVirt.Virtqueue;

namespace IoVirt.Testing;

/// <summary>
/// A test device with two queues and an 8-byte config space whose second half is writable:
/// each chain's readable bytes are copied, in order, into its writable buffers.
/// </summary>
public sealed class EchoDevice : VirtioDeviceModel
{
    private readonly byte[] _config = [1, 2, 3, 4, 0, 0, 0, 0];
    private readonly byte[] _chunk = new byte[64 * 1024];

    public override string Name => "echo";

    public override ulong Features => RingFeatures;

    public override int QueueCount => 2;

    /// <summary>Whether a busy-polling worker yields its core between idle rounds (as for a device whose work finishes elsewhere).</summary>
    public bool Yields { get; init; }

    public override bool YieldsWhilePolling => Yields;

    public override ReadOnlySpan<byte> ConfigSpace => _config;

    public override bool WriteConfig(uint offset, ReadOnlySpan<byte> data)
    {
        if (offset < 4)
        {
            return false;
        }

        data.CopyTo(_config.AsSpan((int)offset));
        return true;
    }

    public override void ProcessQueue(int queueIndex, DeviceQueue queue)
    {
        while (queue.TryPop(out var chain))
        {
            var length = 0;
            uint written = 0;
            while (chain.TryGetNext(out var buffer))
            {
                var memory = queue.Memory;
                if (!buffer.IsWritable)
                {
                    var take = (int)Math.Min(buffer.Length, (uint)(_chunk.Length - length));
                    _ = memory.Read(buffer.GuestAddress, _chunk.AsSpan(length, take));
                    length += take;
                }
                else
                {
                    var give = (int)Math.Min(buffer.Length, (uint)length - written);
                    _ = memory.Write(buffer.GuestAddress, _chunk.AsSpan((int)written, give));
                    written += (uint)give;
                }
            }

            if (chain.Error != QueueError.None)
            {
                return;
            }

            queue.AddUsed(chain.Head, written);
        }
    }

    /// <summary>The writable half of the config space is the device's state.</summary>
    public override void SaveState(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.Write(_config, 4, 4);
    }

    public override void LoadState(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var state = new byte[5];
        var length = source.ReadAtLeast(state, state.Length, throwOnEndOfStream: false);
        if (length != 4)
        {
            throw new InvalidDataException($"an echo device state is 4 bytes, not {length}");
        }

        state.AsSpan(0, 4).CopyTo(_config.AsSpan(4));
    }

    public override void Reset() => _config.AsSpan(4).Clear();
}
