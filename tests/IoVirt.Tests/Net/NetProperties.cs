using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using IoVirt.Abi.Net;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue.Driver;

namespace IoVirt.Tests.Net;

/// <summary>Network invariants against their models: a finished checksum verifies, a frame spread over receive buffers of any size arrives whole, queues use buffers in order, and every page a received frame changes is in the dirty log.</summary>
public class NetProperties
{
    [Fact]
    public void A_finished_checksum_makes_the_covered_bytes_sum_to_all_ones()
    {
        var cases = (from length in Gen.Choose(2, 400)
                     from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), length)
                     from start in Gen.Choose(0, length - 2)
                     from half in Gen.Choose(0, (length - 2 - start) / 2)
                     select (bytes, start, offset: half * 2)).ToArbitrary();
        Prop.ForAll(cases, c =>
        {
            // The field held the pseudo-header sum; the finished bytes plus that sum fold to all ones.
            var frame = c.bytes.ToArray();
            var pseudo = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(c.start + c.offset));
            InternetChecksum.Complete(frame, c.start, c.offset);
            var total = (uint)InternetChecksum.Sum(frame.AsSpan(c.start)) + pseudo;
            total = (total & 0xffff) + (total >> 16);
            return total == 0xffff && frame.AsSpan(0, c.start).SequenceEqual(c.bytes.AsSpan(0, c.start));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Any_frame_over_any_mergeable_buffers_arrives_whole_with_num_buffers_counting_them()
    {
        var cases = (from length in Gen.Choose(14, 9014)
                     from buffer in Gen.Frequency((3, Gen.Choose(12, 256)), (2, Gen.Choose(257, 4096)), (1, Gen.Constant(12 + length)))
                     from packed in Gen.Elements(false, true)
                     select (length, buffer, packed)).ToArbitrary();
        Prop.ForAll(cases, c =>
        {
            var (frame, packet, buffers) = EchoOnce(c.length, c.buffer, c.packed);
            var expected = (VirtioNetHdr.Size + c.length + c.buffer - 1) / c.buffer;
            return buffers == expected
                && BinaryPrimitives.ReadUInt16LittleEndian(packet.AsSpan(VirtioNetHdr.NumBuffersOffset)) == expected
                && packet.AsSpan(VirtioNetHdr.Size).SequenceEqual(frame);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void Each_queue_uses_its_buffers_in_the_order_they_were_made_available()
    {
        // What VIRTIO_F_IN_ORDER, which the device offers, promises: through frames sent (some
        // runts, some oversized, some in a writable buffer) and echoed into receive buffers of any
        // size (some too small for the header), merged or not.
        var cases = (from count in Gen.Choose(1, 20)
                     from frames in Gen.ArrayOf(Gen.Choose(0, 1700).Zip(Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true))), (length, writable) => (length, writable)), count)
                     from sizes in Gen.ArrayOf(Gen.Choose(1, 2048), 60)
                     from mergeable in Gen.Elements(false, true)
                     from packed in Gen.Elements(false, true)
                     select (frames, sizes, mergeable, packed)).ToArbitrary();
        Prop.ForAll(cases, c =>
        {
            using var tx = QueueHarness.Create(c.packed, 64, eventIdx: true, indirect: false, dataBytes: 64 << 10);
            using var rx = QueueHarness.Create(c.packed, 64, eventIdx: true, indirect: false, dataBytes: 128 << 10);
            using var port = new EchoPort(1, NetTransmitCheck.FrameFor(1500));
            var device = new NetDevice(port, new NetDeviceOptions());
            device.FeaturesNegotiated((device.Features & ~VirtioFeature.Bit(VirtioFeature.RingPacked) & ~VirtioFeature.Bit(VirtioNetFeature.MrgRxbuf))
                | (c.mergeable ? VirtioFeature.Bit(VirtioNetFeature.MrgRxbuf) : 0));

            var sent = new List<ushort>();
            var at = tx.DataBase;
            foreach (var (length, writable) in c.frames)
            {
                byte[] packet = [.. new byte[VirtioNetHdr.Size], .. length >= 14 ? EthernetFrames.Frame(EthernetFrames.DeviceMac, EthernetFrames.DeviceMac, length) : new byte[length]];
                Assert.Equal(MemoryFault.None, tx.Memory.Write(at, packet));
                Assert.True(tx.Driver.TryAdd([new DriverBuffer(at, (uint)packet.Length, writable)], indirect: false, out var id));
                sent.Add(id);
                at += (ulong)packet.Length;
            }

            var offered = new List<ushort>();
            at = rx.DataBase;
            foreach (var size in c.sizes)
            {
                Assert.True(rx.Driver.TryAdd([new DriverBuffer(at, (uint)size, true)], indirect: false, out var id));
                offered.Add(id);
                at += (ulong)size;
            }

            tx.Driver.PublishAvail();
            rx.Driver.PublishAvail();
            for (var round = 0; round < 4; round++)
            {
                device.ProcessQueue(1, tx.Device);
                device.ProcessQueue(0, rx.Device);
            }

            tx.Device.PublishUsed();
            rx.Device.PublishUsed();
            var txUsed = tx.TakeUsedIds();
            var rxUsed = rx.TakeUsedIds();
            return txUsed.SequenceEqual(sent) && rxUsed.SequenceEqual(offered.Take(rxUsed.Count)) && !tx.Device.IsBroken && !rx.Device.IsBroken;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));
    }

    /// <summary>One frame sent and echoed through a device in this thread; returns the frame, what came back and how many buffers it took.</summary>
    [Fact]
    public void Every_page_received_frames_change_is_in_the_dirty_log()
    {
        // Small writes into receive buffers wait for the end of the burst (GuestWriteBatch) and
        // larger ones go at once; a migration must find the pages of both in the log. Buffers
        // straddle page boundaries, so a write that logged only its first page would show.
        var cases = (from count in Gen.Choose(1, 24)
                     from lengths in Gen.ArrayOf(Gen.Frequency((3, Gen.Choose(14, 244)), (1, Gen.Choose(245, 1514))), count)
                     from bufferSize in Gen.Choose(64, 2048)
                     from packed in Gen.Elements(false, true)
                     select (lengths, bufferSize, packed)).ToArbitrary();
        Prop.ForAll(cases, c => ReceivedPagesAreLogged(c.lengths, c.bufferSize, c.packed)).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    private static bool ReceivedPagesAreLogged(int[] lengths, int bufferSize, bool packed)
    {
        using var tx = QueueHarness.Create(packed, 64, eventIdx: true, indirect: false, dataBytes: 64 << 10);
        var slots = lengths.Sum(length => (VirtioNetHdr.Size + length + bufferSize - 1) / bufferSize);
        using var rx = QueueHarness.Create(packed, 1024, eventIdx: true, indirect: false, dataBytes: (ulong)(slots + 1) * 4096);
        using var port = new EchoPort(1, NetTransmitCheck.FrameFor(1500));
        var device = new NetDevice(port, new NetDeviceOptions());
        device.FeaturesNegotiated(device.Features & ~VirtioFeature.Bit(VirtioFeature.RingPacked));
        for (var i = 0; i < lengths.Length; i++)
        {
            var frame = EthernetFrames.Frame(EthernetFrames.DeviceMac, EthernetFrames.DeviceMac, lengths[i], seed: (byte)i);
            var address = tx.DataBase + ((ulong)i * 2048);
            Assert.Equal(MemoryFault.None, tx.Memory.Write(address, [.. new byte[VirtioNetHdr.Size], .. frame]));
            Assert.True(tx.Driver.TryAdd([new DriverBuffer(address, (uint)(VirtioNetHdr.Size + frame.Length), false)], indirect: false, out _));
        }

        tx.Driver.PublishAvail();
        device.ProcessQueue(1, tx.Device);
        for (var i = 0; i < slots; i++)
        {
            // Half of the buffer at the end of page i, half at the start of page i + 1.
            var address = rx.DataBase + ((ulong)(i + 1) * 4096) - (ulong)(bufferSize / 2);
            Assert.True(rx.Driver.TryAdd([new DriverBuffer(address, (uint)bufferSize, true)], indirect: false, out _));
        }

        rx.Driver.PublishAvail();
        using var watch = new DirtyLogWatch(rx);
        for (var i = 0; i < slots; i += NetDevice.Burst)
        {
            device.ProcessQueue(0, watch.Device);
        }

        watch.Device.PublishUsed();
        var used = 0;
        while (rx.Driver.TryTakeUsed(out _, out _))
        {
            used++;
        }

        Assert.Equal(slots, used);
        return watch.FirstUnloggedChange() is null;
    }

    private static (byte[] Frame, byte[] Packet, int Buffers) EchoOnce(int length, int bufferSize, bool packed)
    {
        using var tx = QueueHarness.Create(packed, 64, eventIdx: true, indirect: false, dataBytes: 16 << 10);
        using var rx = QueueHarness.Create(packed, 1024, eventIdx: true, indirect: false, dataBytes: 1024UL * 4096);
        using var port = new EchoPort(1, NetTransmitCheck.FrameFor(9000));
        var device = new NetDevice(port, new NetDeviceOptions { Mtu = 9000 });
        device.FeaturesNegotiated(device.Features & ~VirtioFeature.Bit(VirtioFeature.RingPacked));
        var frame = EthernetFrames.Frame(EthernetFrames.DeviceMac, EthernetFrames.DeviceMac, length, seed: unchecked((byte)length));
        byte[] packet = [.. new byte[VirtioNetHdr.Size], .. frame];
        Assert.Equal(MemoryFault.None, tx.Memory.Write(tx.DataBase, packet));
        Assert.True(tx.Driver.TryAdd([new DriverBuffer(tx.DataBase, (uint)packet.Length, false)], indirect: false, out _));
        tx.Driver.PublishAvail();
        device.ProcessQueue(1, tx.Device);

        var slots = Math.Min(1024, ((VirtioNetHdr.Size + length) / bufferSize) + 2);
        var addressOfId = new Dictionary<ushort, ulong>();
        for (var i = 0; i < slots; i++)
        {
            var address = rx.DataBase + ((ulong)i * (ulong)bufferSize);
            Assert.True(rx.Driver.TryAdd([new DriverBuffer(address, (uint)bufferSize, true)], indirect: false, out var id));
            addressOfId[id] = address;
        }

        rx.Driver.PublishAvail();
        for (var i = 0; i < 2; i++)
        {
            device.ProcessQueue(0, rx.Device);
        }

        rx.Device.PublishUsed();
        var received = new List<byte>();
        var buffers = 0;
        while (rx.Driver.TryTakeUsed(out var used, out var written))
        {
            var bytes = new byte[written];
            Assert.Equal(MemoryFault.None, rx.Memory.Read(addressOfId[used], bytes));
            received.AddRange(bytes);
            buffers++;
        }

        return (frame, [.. received], buffers);
    }
}
