using System.Buffers.Binary;
using IoVirt.Abi.Net;
using IoVirt.Abi.VhostUser;
using IoVirt.Backends.Net;
using IoVirt.Backends.Net.Ports;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue.Driver;
using static IoVirt.Testing.EthernetFrames;

namespace IoVirt.Tests.Net;

/// <summary>The virtio-net device over a real vhost-user socket, driven as a guest driver would.</summary>
public class NetDeviceTests
{
    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public void The_echo_port_returns_each_frame_with_its_MACs_swapped(bool packed, bool mergeable)
    {
        using var bed = new NetBed(new EchoPort(1, 1518), packed, mergeable);
        bed.Driver.PostReceiveBuffers(16);
        for (var i = 0; i < 40; i++)
        {
            var frame = Frame(DeviceMac, DeviceMac, 60 + (i * 30), seed: (byte)i);
            bed.Driver.Send(Header(), frame, pieces: 1 + (i % 3));
            var packet = bed.Driver.Receive(out var buffers);
            Assert.NotNull(packet);
            Assert.Equal(1, buffers);
            Assert.Equal(frame, packet[VirtioNetHdr.Size..]);
            Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(packet.AsSpan(VirtioNetHdr.NumBuffersOffset)));
            bed.Driver.PostReceiveBuffers(1);
        }

        var totals = bed.WaitTotals(t => t.RxFrames == 40);
        Assert.Equal(40, totals.TxFrames);
        Assert.Equal(40, totals.RxFrames);
        Assert.Equal(0, totals.TxInvalid + totals.RxDropped + totals.RxFiltered);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SEND_RARP_sends_one_broadcast_RARP_from_the_migrated_guests_MAC(bool packed)
    {
        using var bed = new NetBed(new EchoPort(1, 1518), packed);
        Assert.True((bed.Driver.Frontend.GetProtocolFeatures() & VhostUserProtocolFeatures.Rarp) != 0);
        bed.Driver.PostReceiveBuffers(4);

        bed.Driver.Frontend.SendRarp(DeviceMac);

        // The echo port swaps the addresses: the frame comes back to the guest's MAC from the broadcast address.
        var packet = bed.Driver.Receive(out _);
        Assert.NotNull(packet);
        var frame = packet.AsSpan(VirtioNetHdr.Size);
        Assert.Equal(MigrationAnnouncement.FrameLength, frame.Length);
        Assert.Equal(DeviceMac, frame[..6].ToArray());
        Assert.All(frame[6..12].ToArray(), b => Assert.Equal(0xff, b));
        Assert.Equal(0x8035, BinaryPrimitives.ReadUInt16BigEndian(frame[12..]));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(frame[14..])); // Ethernet
        Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(frame[16..])); // IPv4
        Assert.Equal(3, BinaryPrimitives.ReadUInt16BigEndian(frame[20..])); // reverse request
        Assert.Equal(DeviceMac, frame[22..28].ToArray());
        Assert.Equal(DeviceMac, frame[32..38].ToArray());
        Assert.All(frame[28..32].ToArray().Concat(frame[38..].ToArray()), b => Assert.Equal(0, b));

        Assert.Null(bed.Driver.Receive(out _, timeoutMs: 200));
        Assert.Equal(0, bed.Device.Totals.TxFrames);
    }

    [Fact]
    public void Frames_echoed_for_a_front_end_that_went_away_never_reach_the_next_one()
    {
        using var bed = new NetBed(new EchoPort(1, 1518));
        for (var i = 0; i < 3; i++)
        {
            bed.Driver.Send(Header(), Frame(DeviceMac, DeviceMac, 200)); // no receive buffers: the device and the echo hold them
        }

        Assert.True(bed.Driver.WaitTransmitted());
        bed.Driver.Dispose();

        // The next guest's memory is its own (reusing the old rings would replay the old driver's chains).
        using var memory = new GuestMemory(GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, VhostUserTestBed.MemorySize, "iovirt-next-guest"));
        using var next = new NetDriver(bed.TestBed.SocketPath, memory, NetBed.DriverFeatures);
        next.PostReceiveBuffers(8);
        Assert.Null(next.Receive(out _, timeoutMs: 300));
        next.Send(Header(), Frame(DeviceMac, DeviceMac, 90));
        Assert.Equal(90, next.Receive(out _)!.Length - VirtioNetHdr.Size);
    }

    [Fact]
    public void Echo_really_swaps_source_and_destination()
    {
        using var bed = new NetBed(new EchoPort(1, 1518));
        bed.Driver.PostReceiveBuffers(4);
        bed.Driver.Send(Header(), Frame(PeerMac, DeviceMac, 100));
        var packet = bed.Driver.Receive(out _)!;
        Assert.Equal(DeviceMac, packet.AsSpan(VirtioNetHdr.Size, 6).ToArray());
        Assert.Equal(PeerMac, packet.AsSpan(VirtioNetHdr.Size + 6, 6).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void With_mergeable_buffers_a_jumbo_frame_spreads_over_several_buffers_and_num_buffers_says_how_many(bool packed)
    {
        using var bed = new NetBed(new EchoPort(1, 9018), packed, mergeable: true, rxBufferSize: 2048, mtu: 9000);
        bed.Driver.PostReceiveBuffers(16);
        var frame = Frame(DeviceMac, DeviceMac, 9014);
        bed.Driver.Send(Header(), frame, pieces: 3);
        var packet = bed.Driver.Receive(out var buffers);
        Assert.NotNull(packet);
        Assert.Equal(5, buffers); // 12 + 9014 bytes in 2048-byte buffers
        Assert.Equal(frame, packet[VirtioNetHdr.Size..]);
    }

    /// <summary>
    /// The echo wakes no eventfd: the worker asks the port before it sleeps. With no receive
    /// buffer for the frame it must sleep all the same (asking again and again would spin a
    /// core), and the guest's next buffers bring the frame.
    /// </summary>
    [Fact]
    public void An_echoed_frame_with_no_buffer_to_go_to_leaves_the_worker_asleep_until_buffers_come()
    {
        var port = new AskCountingPort(new EchoPort(1, 1518));
        using var bed = new NetBed(port);
        // Three frames: the device holds the first as it waits for a buffer, the port the others.
        var frames = Enumerable.Range(0, 3).Select(i => Frame(DeviceMac, DeviceMac, 60, seed: (byte)i)).ToArray();
        foreach (var frame in frames)
        {
            bed.Driver.Send(Header(), frame);
            Assert.True(bed.Driver.WaitTransmitted());
        }

        Thread.Sleep(300);
        Assert.InRange(port.AnsweredYes, 1, 6);

        bed.Driver.PostReceiveBuffers(3);
        foreach (var frame in frames)
        {
            Assert.Equal(frame, bed.Driver.Receive(out _)![VirtioNetHdr.Size..]);
        }
    }

    [Fact]
    public void A_frame_waits_for_more_buffers_when_the_guest_ran_out_in_the_middle_of_it()
    {
        using var bed = new NetBed(new EchoPort(1, 9018), mergeable: true, rxBufferSize: 2048, mtu: 9000);
        bed.Driver.PostReceiveBuffers(2);
        var frame = Frame(DeviceMac, DeviceMac, 9014);
        bed.Driver.Send(Header(), frame);
        Assert.True(bed.Driver.WaitTransmitted());
        bed.Driver.PostReceiveBuffers(3);
        var packet = bed.Driver.Receive(out var buffers);
        Assert.Equal(5, buffers);
        Assert.Equal(frame, packet![VirtioNetHdr.Size..]);
        Assert.Equal(0, bed.Device.Totals.RxDropped);
    }

    [Fact]
    public void Without_mergeable_buffers_a_frame_larger_than_the_buffer_is_dropped_counted_and_the_buffer_returned_empty()
    {
        using var bed = new NetBed(new EchoPort(1, 1518), mergeable: false, rxBufferSize: 512);
        bed.Driver.PostReceiveBuffers(4);
        bed.Driver.Send(Header(), Frame(DeviceMac, DeviceMac, 1000));
        var empty = bed.Driver.Receive(out _);
        Assert.NotNull(empty);
        Assert.Empty(empty);
        Assert.Equal(1, bed.WaitTotals(t => t.RxDropped == 1).RxDropped);

        var small = Frame(DeviceMac, DeviceMac, 400);
        bed.Driver.Send(Header(), small);
        Assert.Equal(small, bed.Driver.Receive(out _)![VirtioNetHdr.Size..]);
    }

    [Fact]
    public void A_receive_buffer_that_cannot_hold_the_header_is_returned_empty_and_the_frame_dropped()
    {
        using var bed = new NetBed(new EchoPort(1, 1518), mergeable: true, rxBufferSize: 8);
        bed.Driver.PostReceiveBuffers(4);
        bed.Driver.Send(Header(), Frame(DeviceMac, DeviceMac, 64));
        var packet = bed.Driver.Receive(out _);
        Assert.NotNull(packet);
        Assert.Empty(packet);
        Assert.Equal(1, bed.WaitTotals(t => t.RxDropped == 1).RxDropped);
    }

    [Fact]
    public void Bad_transmit_chains_are_dropped_and_counted_and_the_device_goes_on()
    {
        using var bed = new NetBed(new SinkPort(), mtu: 1500);
        var driver = bed.Driver;
        driver.Send(Header(), new byte[4]);                                              // shorter than an Ethernet header
        driver.SendChain([new DriverBuffer(driver.TxBuffer(60), 6, false)]);            // shorter than the virtio-net header
        driver.Send(Header(), Frame(DeviceMac, DeviceMac, 1519));                        // over the MTU (1500 + 18)
        driver.Send(Header(VirtioNetHdrFlags.DataValid), Frame(DeviceMac, DeviceMac, 60)); // a receive-only flag
        driver.Send(Header(VirtioNetHdrFlags.NeedsCsum, csumStart: 50, csumOffset: 10), Frame(DeviceMac, DeviceMac, 60)); // checksum past the end
        driver.Send(Header(VirtioNetHdrFlags.NeedsCsum, VirtioNetGsoType.TcpV4, 1448, 34, 16), Frame(DeviceMac, DeviceMac, 200)); // TSO not negotiated
        driver.SendChain([new DriverBuffer(driver.TxBuffer(61), 12, false), new DriverBuffer(driver.TxBuffer(62), 64, true)]); // a writable buffer
        driver.Send(Header(), Frame(DeviceMac, DeviceMac, 1518));                        // fine: exactly the limit
        Assert.True(driver.WaitTransmitted());
        var totals = bed.WaitTotals(t => t.TxInvalid + t.TxFrames == 8);
        Assert.Equal(7, totals.TxInvalid);
        Assert.Equal(1, totals.TxFrames);
        Assert.Equal(1518, totals.TxBytes);
    }

    [Fact]
    public void A_partial_checksum_is_finished_in_software_for_a_port_that_cannot()
    {
        using var bed = new NetBed(new EchoPort(1, 1518));
        Assert.True(bed.Driver.Has(VirtioNetFeature.Csum));
        Assert.False(bed.Driver.Has(VirtioNetFeature.GuestCsum)); // the echo hands back only finished frames
        bed.Driver.PostReceiveBuffers(4);
        var frame = UdpWithPartialChecksum(DeviceMac, DeviceMac, 301);
        Assert.False(UdpChecksumValid(frame));
        bed.Driver.Send(Header(VirtioNetHdrFlags.NeedsCsum, csumStart: 34, csumOffset: 6), frame, pieces: 2);
        var packet = bed.Driver.Receive(out _)!;
        Assert.Equal(0, packet[VirtioNetHdr.FlagsOffset]);
        Assert.True(UdpChecksumValid(packet.AsSpan(VirtioNetHdr.Size)));
    }

    [Fact]
    public void The_receive_filter_follows_the_control_queue_promiscuous_mode_and_MAC_table()
    {
        using var bed = new NetBed(new EchoPort(1, 1518));
        var driver = bed.Driver;
        driver.PostReceiveBuffers(8);

        // Echoed frames come back addressed to the sender's MAC: here PeerMac, not the device's.
        Assert.Equal((byte)VirtioNetCtrlAck.Ok, driver.Control(VirtioNetCtrlClass.Rx, VirtioNetCtrlRx.Promisc, [0]));
        driver.Send(Header(), Frame(DeviceMac, PeerMac, 80));
        Assert.Equal(1, bed.WaitTotals(t => t.RxFiltered == 1).RxFiltered);

        byte[] table = [1, 0, 0, 0, .. PeerMac, 0, 0, 0, 0];
        Assert.Equal((byte)VirtioNetCtrlAck.Ok, driver.Control(VirtioNetCtrlClass.Mac, VirtioNetCtrlMac.TableSet, table));
        driver.Send(Header(), Frame(DeviceMac, PeerMac, 80));
        Assert.NotNull(driver.Receive(out _));

        // Own MAC and broadcast always pass.
        driver.Send(Header(), Frame(PeerMac, DeviceMac, 80));
        Assert.NotNull(driver.Receive(out _));
        Assert.Equal(1, bed.Device.Totals.RxFiltered);
    }

    [Fact]
    public void With_VLAN_filtering_a_tagged_frame_passes_only_for_a_VLAN_the_driver_added()
    {
        using var bed = new NetBed(new EchoPort(1, 1518));
        var driver = bed.Driver;
        driver.PostReceiveBuffers(8);
        var tagged = Tagged(Frame(DeviceMac, DeviceMac, 80), 5);
        driver.Send(Header(), tagged);
        Assert.Equal(1, bed.WaitTotals(t => t.RxFiltered == 1).RxFiltered);

        Assert.Equal((byte)VirtioNetCtrlAck.Ok, driver.Control(VirtioNetCtrlClass.Vlan, VirtioNetCtrlVlan.Add, [5, 0]));
        driver.Send(Header(), tagged);
        Assert.Equal(tagged, driver.Receive(out _)![VirtioNetHdr.Size..]);

        Assert.Equal((byte)VirtioNetCtrlAck.Ok, driver.Control(VirtioNetCtrlClass.Vlan, VirtioNetCtrlVlan.Del, [5, 0]));
        driver.Send(Header(), tagged);
        Assert.Equal(2, bed.WaitTotals(t => t.RxFiltered == 2).RxFiltered);
    }

    [Fact]
    public void Control_commands_are_checked_against_features_and_lengths()
    {
        using var bed = new NetBed(new SinkPort(), pairs: 2);
        var driver = bed.Driver;
        const byte ok = (byte)VirtioNetCtrlAck.Ok;
        const byte error = (byte)VirtioNetCtrlAck.Error;
        Assert.Equal(ok, driver.Control(VirtioNetCtrlClass.Mq, VirtioNetCtrlMq.VqPairsSet, [2, 0]));
        Assert.Equal(2, bed.Device.ActivePairs);
        Assert.Equal(error, driver.Control(VirtioNetCtrlClass.Mq, VirtioNetCtrlMq.VqPairsSet, [3, 0]));
        Assert.Equal(error, driver.Control(VirtioNetCtrlClass.Mq, VirtioNetCtrlMq.VqPairsSet, [0, 0]));
        Assert.Equal(error, driver.Control(VirtioNetCtrlClass.Mq, VirtioNetCtrlMq.VqPairsSet, [1]));
        Assert.Equal(error, driver.Control(VirtioNetCtrlClass.Rx, VirtioNetCtrlRx.Promisc, [2]));
        Assert.Equal(error, driver.Control(VirtioNetCtrlClass.Rx, VirtioNetCtrlRx.NoBcast, [1])); // CTRL_RX_EXTRA not offered
        Assert.Equal(error, driver.Control(VirtioNetCtrlClass.Vlan, VirtioNetCtrlVlan.Add, [0x00, 0x10])); // VLAN 4096
        Assert.Equal(error, driver.Control(VirtioNetCtrlClass.Mac, VirtioNetCtrlMac.TableSet, [9, 0, 0, 0, 1, 2, 3]));
        Assert.Equal(error, driver.Control(VirtioNetCtrlClass.GuestOffloads, VirtioNetCtrlGuestOffloads.Set, new byte[8])); // not offered by a sink
        Assert.Equal(error, driver.Control((VirtioNetCtrlClass)42, 0, []));
        Assert.Equal(2, bed.Device.ActivePairs);

        byte[] mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
        Assert.Equal(ok, driver.Control(VirtioNetCtrlClass.Mac, VirtioNetCtrlMac.AddrSet, mac));
        Assert.Equal(mac, driver.Frontend.GetConfig(VirtioNetConfig.MacOffset, 6));
        Assert.Equal(MacAddress.Read(mac), bed.Device.Filter.Mac);

        // No room for the ack: returned unanswered, and the queue goes on.
        Assert.Equal(0xee, driver.Control(VirtioNetCtrlClass.Rx, VirtioNetCtrlRx.Promisc, [1], withAck: false));
        Assert.Equal(ok, driver.Control(VirtioNetCtrlClass.Rx, VirtioNetCtrlRx.Promisc, [1]));
    }

    [Fact]
    public void The_config_space_reports_MAC_link_pairs_and_MTU()
    {
        using var bed = new NetBed(new SinkPort(), mtu: 9000, pairs: 4);
        var config = bed.Driver.Frontend.GetConfig(0, VirtioNetConfig.Size);
        Assert.Equal(DeviceMac, config[..6]);
        Assert.Equal((ushort)VirtioNetStatus.LinkUp, BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(VirtioNetConfig.StatusOffset)));
        Assert.Equal(4, BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(VirtioNetConfig.MaxVirtqueuePairsOffset)));
        Assert.Equal(9000, BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(VirtioNetConfig.MtuOffset)));
        Assert.Equal(4UL, bed.Driver.Frontend.GetQueueNum());
        Assert.True(bed.Driver.Has(VirtioNetFeature.Mq));
    }

    [Fact]
    public void The_sink_counts_what_it_consumed()
    {
        using var bed = new NetBed(new SinkPort());
        for (var i = 0; i < 100; i++)
        {
            bed.Driver.Send(Header(), Frame(DeviceMac, DeviceMac, 64));
            if (i % 32 == 31)
            {
                Assert.True(bed.Driver.WaitTransmitted());
            }
        }

        Assert.True(bed.Driver.WaitTransmitted());
        var totals = bed.WaitTotals(t => t.TxFrames == 100);
        Assert.Equal(100, totals.TxFrames);
        Assert.Equal(6400, totals.TxBytes);
    }

    [Fact]
    public void The_source_fills_every_buffer_the_guest_gives_with_numbered_valid_frames()
    {
        using var bed = new NetBed(new SourcePort(1, 64, MacAddress.Read(DeviceMac)));
        bed.Driver.PostReceiveBuffers(32);
        for (var i = 0u; i < 32; i++)
        {
            var packet = bed.Driver.Receive(out _)!;
            Assert.Equal(VirtioNetHdr.Size + 64, packet.Length);
            var frame = packet.AsSpan(VirtioNetHdr.Size);
            Assert.Equal(i, BinaryPrimitives.ReadUInt32BigEndian(frame[42..]));
            Assert.Equal(0xffff, InternetChecksum.Sum(frame.Slice(14, 20)));
        }

        Assert.Null(bed.Driver.Receive(out _, timeoutMs: 100));
        Assert.Equal(32, bed.Device.Totals.RxFrames);
    }

    /// <summary>An echo that counts how often the device was told, before its worker slept, that packets wait.</summary>
    private sealed class AskCountingPort(EchoPort echo) : INetPort
    {
        private int _answeredYes;

        public int AnsweredYes => Volatile.Read(ref _answeredYes);

        public string Description => echo.Description;

        public NetOffloads TransmitOffloads => echo.TransmitOffloads;

        public NetOffloads ReceiveOffloads => echo.ReceiveOffloads;

        public void AcceptOffloads(NetOffloads offloads) => echo.AcceptOffloads(offloads);

        public bool Transmit(int pair, ReadOnlySpan<byte> packet) => echo.Transmit(pair, packet);

        public void TransmitBurstDone(int pair) => echo.TransmitBurstDone(pair);

        public int Receive(int pair, Span<byte> destination) => echo.Receive(pair, destination);

        public void Reset() => echo.Reset();

        public int ReceiveEventSource(int pair) => echo.ReceiveEventSource(pair);

        public bool HasPacketsFromSameThread(int pair)
        {
            var waiting = echo.HasPacketsFromSameThread(pair);
            if (waiting)
            {
                Interlocked.Increment(ref _answeredYes);
            }

            return waiting;
        }

        public void Dispose() => echo.Dispose();
    }
}
