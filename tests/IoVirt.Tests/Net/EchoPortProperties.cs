using FsCheck;
using FsCheck.Fluent;
using IoVirt.Abi.Net;
using IoVirt.Backends.Net.Ports;

namespace IoVirt.Tests.Net;

/// <summary>The echo port against a bounded FIFO model: order, capacity, the swapped MACs and the cleared header.</summary>
public class EchoPortProperties
{
    /// <summary>Large enough a frame that the FIFO holds its minimum of 16, so full and wrapped FIFOs come up often.</summary>
    private const int MaxFrame = 1 << 16;

    [Fact]
    public void Frames_come_back_in_order_with_their_MACs_swapped_and_none_beyond_capacity()
    {
        // Each step sends (a frame of the given length) or receives.
        var steps = Gen.ArrayOf(Gen.Frequency((3, Gen.Choose(VirtioNetHdr.Size + 12, 200)), (2, Gen.Constant(0))), 200).ToArbitrary();
        Prop.ForAll(steps, plan =>
        {
            using var port = new EchoPort(1, MaxFrame);
            var model = new Queue<byte[]>();
            var capacity = Math.Max(16, EchoPort.FifoBytes / (VirtioNetHdr.Size + MaxFrame));
            var destination = new byte[VirtioNetHdr.Size + MaxFrame];
            var sent = 0;
            foreach (var length in plan)
            {
                if (length == 0)
                {
                    var received = port.Receive(0, destination);
                    var expected = model.Count == 0 ? null : model.Dequeue();
                    Assert.Equal(expected?.Length ?? 0, received);
                    if (expected is not null)
                    {
                        Assert.Equal(Echoed(expected), destination[..received]);
                    }

                    continue;
                }

                // Every byte differs from its neighbours, so a swap that moves bytes within an
                // address shows; the first one tells frames past 256 apart.
                var frame = new byte[length];
                for (var i = 0; i < frame.Length; i++)
                {
                    frame[i] = unchecked((byte)((sent * 31) + i));
                }

                frame[VirtioNetHdr.Size] = (byte)(sent >> 8);
                sent++;
                var accepted = port.Transmit(0, frame);
                Assert.Equal(model.Count < capacity, accepted);
                if (accepted)
                {
                    model.Enqueue(frame);
                }

                Assert.Equal(model.Count > 0, port.HasPacketsFromSameThread(0));
            }
        }).QuickCheckThrowOnFailure();
    }

    /// <summary>What the port returns for <paramref name="packet"/>: the header zeroed, destination and source MACs swapped.</summary>
    private static byte[] Echoed(byte[] packet)
    {
        var echoed = packet.ToArray();
        Array.Clear(echoed, 0, VirtioNetHdr.Size);
        var frame = echoed.AsSpan(VirtioNetHdr.Size);
        packet.AsSpan(VirtioNetHdr.Size, 6).CopyTo(frame[6..]);
        packet.AsSpan(VirtioNetHdr.Size + 6, 6).CopyTo(frame);
        return echoed;
    }
}
