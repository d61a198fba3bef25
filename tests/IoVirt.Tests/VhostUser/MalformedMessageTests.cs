using System.Runtime.InteropServices;
using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;
using IoVirt.Backends.Rng;
using IoVirt.Interop;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.VhostUser;
using Microsoft.Extensions.Logging;

namespace IoVirt.Tests.VhostUser;

/// <summary>
/// Every malformed or out-of-order message is refused before it acts: with REPLY_ACK the front
/// end gets a non-zero answer and the connection stays usable; without it the connection is
/// closed with a log line and the server accepts the next front end.
/// </summary>
public class MalformedMessageTests
{
    private const uint NeedReply = (uint)(VhostUserHeaderFlags.Version1 | VhostUserHeaderFlags.NeedReply);

    [Fact]
    public void Features_never_offered_are_refused()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetFeatures(1UL << 63));
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetProtocolFeatures(VhostUserProtocolFeatures.Pagefault));
        StillServes(frontend);
    }

    [Theory]
    [InlineData(5u, 8u)]
    [InlineData(0u, 0u)]
    [InlineData(0u, 100u)]
    [InlineData(0u, 2048u)]
    public void A_ring_index_or_size_out_of_bounds_is_refused(uint index, uint size)
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetVringNum(index, size));
        StillServes(frontend);
    }

    [Fact]
    public void A_ring_started_before_it_is_configured_is_refused()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        using var kick = EventFd.Create();
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetVringKick(0, kick));
        frontend.SetVringNum(0, 8);
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetVringKick(0, kick));
        StillServes(frontend);
    }

    [Fact]
    public void Ring_addresses_outside_the_memory_table_are_refused_when_the_ring_starts()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        using var kick = EventFd.Create();
        frontend.SetVringNum(0, 8);
        frontend.SetVringAddr(0, 0x10, 0x20, 0x40);
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetVringKick(0, kick));
        Assert.True(bed.Log.Contains(LogLevel.Warning, "RingOutsideMemory"));
        StillServes(frontend);
    }

    [Fact]
    public void A_running_ring_cannot_be_resized_or_rebased()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetVringNum(0, 16));
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetVringBase(0, 3));
        Assert.Equal(0u, frontend.GetVringBase(0));
        frontend.SetVringNum(0, 16);
    }

    [Theory]
    [InlineData(VhostUserRequest.SetFeatures, 4, 0)]
    [InlineData(VhostUserRequest.SetOwner, 0, 1)]
    [InlineData(VhostUserRequest.SetVringNum, 12, 0)]
    [InlineData(VhostUserRequest.SetVringAddr, 32, 0)]
    [InlineData(VhostUserRequest.SetVringCall, 8, 2)]
    [InlineData(VhostUserRequest.SetVringEnable, 8, 1)]
    [InlineData(VhostUserRequest.SetStatus, 4, 0)]
    [InlineData(VhostUserRequest.ResetDevice, 8, 0)]
    public void A_payload_of_the_wrong_size_or_with_the_wrong_descriptors_is_refused(VhostUserRequest request, int size, int fds)
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        var events = Enumerable.Range(0, fds).Select(_ => EventFd.Create()).ToArray();
        var reply = frontend.SendRaw((uint)request, NeedReply, new byte[size], events.Select(e => e.Fd).ToArray(), expectReply: true);
        Assert.NotEqual(0UL, MemoryMarshal.Read<ulong>(reply));
        foreach (var e in events)
        {
            e.Dispose();
        }

        StillServes(frontend);
    }

    [Theory]
    [InlineData(VhostUserRequest.SetVringEndian)]
    [InlineData(VhostUserRequest.IotlbMsg)]
    [InlineData(VhostUserRequest.SendRarp)]
    [InlineData(VhostUserRequest.PostcopyAdvise)]
    [InlineData(VhostUserRequest.GetInflightFd)]
    [InlineData(VhostUserRequest.GetSharedObject)]
    [InlineData(VhostUserRequest.VringKick)]
    [InlineData((VhostUserRequest)999)]
    public void Requests_of_features_not_offered_and_unknown_requests_are_refused(VhostUserRequest request)
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        var reply = frontend.SendRaw((uint)request, NeedReply, new byte[8], [], expectReply: true);
        Assert.NotEqual(0UL, MemoryMarshal.Read<ulong>(reply));
        StillServes(frontend);
    }

    [Fact]
    public void Config_access_is_bounded_by_the_config_space_and_its_writable_fields()
    {
        using var bed = new VhostUserTestBed(new EchoDevice());
        using var frontend = Handshake.Connect(bed);
        Assert.Equal([1, 2, 3, 4], frontend.GetConfig(0, 4));
        Assert.Empty(frontend.GetConfig(6, 4));
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetConfig(0, [9, 9]));
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetConfig(6, [9, 9, 9]));
        frontend.SetConfig(4, [7, 8]);
        Assert.Equal([1, 2, 3, 4, 7, 8, 0, 0], frontend.GetConfig(0, 8));
        Assert.Equal([7, 8], frontend.GetConfig(4, 2));

        // The front end asks from offset 0 (as QEMU does); the back end honours any offset.
        var request = new byte[VhostUserConfigHeader.Size + 2];
        MemoryMarshal.Write(request, new VhostUserConfigHeader { Offset = 4, ConfigSize = 2 });
        var reply = frontend.SendRaw((uint)VhostUserRequest.GetConfig, (uint)VhostUserHeaderFlags.Version1, request, [], expectReply: true);
        Assert.Equal([7, 8], reply![VhostUserConfigHeader.Size..]);
        StillServes(frontend);
    }

    [Fact]
    public void A_device_without_config_space_does_not_offer_the_config_feature()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        Assert.Equal(VhostUserProtocolFeatures.None, frontend.GetProtocolFeatures() & VhostUserProtocolFeatures.Config);
        var reply = frontend.SendRaw((uint)VhostUserRequest.GetConfig, NeedReply, new byte[VhostUserConfigHeader.Size + 4], [], expectReply: true);
        Assert.NotEqual(0UL, MemoryMarshal.Read<ulong>(reply));
        StillServes(frontend);
    }

    [Fact]
    public void Bad_memory_tables_are_refused_and_the_old_one_stays()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        var fd = (int)bed.Memory.Regions[0].File!.DangerousGetHandle();

        // Two regions overlapping in guest-physical space.
        Assert.NotEqual(0UL, SendMemTable(frontend, [Region(0x1000, 0x2000), Region(0x2000, 0x2000)], [fd, fd]));
        // More descriptors than regions, fewer, none at all, too many regions, a zero-size region, a region wrapping around.
        Assert.NotEqual(0UL, SendMemTable(frontend, [Region(0x1000, 0x1000)], [fd, fd]));
        Assert.NotEqual(0UL, SendMemTable(frontend, [Region(0x1000, 0x1000), Region(0x8000, 0x1000)], [fd]));
        Assert.NotEqual(0UL, SendMemTable(frontend, [], []));
        Assert.NotEqual(0UL, SendMemTable(frontend, [.. Enumerable.Range(0, 9).Select(i => Region((ulong)i << 20, 0x1000))], [fd, fd, fd, fd, fd, fd, fd, fd]));
        Assert.NotEqual(0UL, SendMemTable(frontend, [Region(0x1000, 0)], [fd]));
        Assert.NotEqual(0UL, SendMemTable(frontend, [Region(ulong.MaxValue - 0xfff, 0x2000)], [fd]));
        // A size past 2^63, which file offsets cannot reach (the chaos soak's malformed front end
        // found it failing the session with an overflow instead of an error reply).
        Assert.NotEqual(0UL, SendMemTable(frontend, [Region(0, 0x8000_0000_0000_0000)], [fd]));
        Assert.DoesNotContain(bed.Log.Lines, line => line.Level == LogLevel.Critical);
        // A region larger than its file: mapping it would succeed and the first access past the
        // file's end would kill the daemon with SIGBUS.
        Assert.NotEqual(0UL, SendMemTable(frontend, [Region(0x1000, VhostUserTestBed.MemorySize * 2)], [fd]));
        Assert.True(bed.Log.Contains(LogLevel.Warning, "past the end"));

        // The table sent by the handshake still serves a ring.
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        frontend.SetVringEnable(0, true);
        Assert.True(queue.Driver.TryAdd([new(VhostUserTestBed.DataBase, 16, true)], false, out _));
        queue.Submit();
        Assert.True(queue.TryWaitUsed(out _, out var written, 5000));
        Assert.Equal(16u, written);
    }

    [Fact]
    public void Memory_regions_can_be_added_and_removed_one_at_a_time()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        Assert.Equal((ulong)BackendSession.MaxMemorySlots, frontend.GetMaxMemSlots());
        using var extra = new GuestMemory(GuestRegion.CreateMemfd(0x8000_0000, 1 << 20, "extra"));
        frontend.AddMemoryRegion(extra.Regions[0]);

        // A ring living in the added region works.
        AssertRingRunsAt0x8000_0000(frontend, extra);

        frontend.RemoveMemoryRegion(extra.Regions[0]);
        Assert.Throws<VhostUserProtocolException>(() => frontend.RemoveMemoryRegion(extra.Regions[0]));
    }

    [Fact]
    public void A_region_added_again_as_by_each_queue_pair_of_a_qemu_multiqueue_net_device_stays_until_removed_as_often()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        using var extra = new GuestMemory(GuestRegion.CreateMemfd(0x8000_0000, 1 << 20, "extra"));
        frontend.AddMemoryRegion(extra.Regions[0]);
        frontend.AddMemoryRegion(extra.Regions[0]);
        frontend.AddMemoryRegion(bed.Memory.Regions[0]);

        frontend.RemoveMemoryRegion(extra.Regions[0]);
        AssertRingRunsAt0x8000_0000(frontend, extra);

        frontend.RemoveMemoryRegion(extra.Regions[0]);
        Assert.Throws<VhostUserProtocolException>(() => frontend.RemoveMemoryRegion(extra.Regions[0]));

        // A region overlapping one mapped, without being the same, is still refused.
        using var overlapping = new GuestMemory(GuestRegion.CreateMemfd(VhostUserTestBed.MemoryBase, 1 << 20, "overlapping"));
        Assert.Throws<VhostUserProtocolException>(() => frontend.AddMemoryRegion(overlapping.Regions[0]));
    }

    /// <summary>Ring 0 placed at 0x8000_0000 of <paramref name="memory"/> completes a request, then stops.</summary>
    private static void AssertRingRunsAt0x8000_0000(VhostUserFrontend frontend, GuestMemory memory)
    {
        using var queue = FrontendQueue.Start(frontend, memory, 0, 8, packed: false, eventIdx: true, 0x8000_0000);
        frontend.SetVringEnable(0, true);
        Assert.True(queue.Driver.TryAdd([new(0x8000_0000 + 0x8_0000, 16, true)], false, out _));
        queue.Submit();
        Assert.True(queue.TryWaitUsed(out _, out _, 5000));
        _ = frontend.GetVringBase(0);
    }

    [Fact]
    public void Status_reset_and_queue_count_answer_as_the_spec_says()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        Assert.Equal(1UL, frontend.GetQueueNum());
        frontend.SetStatus((byte)(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk));
        Assert.Equal((byte)(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk), frontend.GetStatus());
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        frontend.ResetDevice();
        Assert.Equal(0, frontend.GetStatus());
        frontend.SetVringNum(0, 16); // stopped by the reset, so it can be configured again
    }

    [Fact]
    public void Without_reply_ack_a_refused_message_closes_the_connection_and_the_server_takes_the_next()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using (var frontend = Handshake.Connect(bed, replyAck: false))
        {
            frontend.SendRaw((uint)VhostUserRequest.SetVringNum, (uint)VhostUserHeaderFlags.Version1, new byte[3], [], expectReply: false);
            Assert.True(frontend.IsClosedByPeer());
        }

        Assert.True(bed.Log.Contains(LogLevel.Error, "closing the connection"));
        using var next = Handshake.Connect(bed);
        StillServes(next);
    }

    [Theory]
    [InlineData(2u, 0u)]
    [InlineData(5u, 0u)] // version 1 with the reply flag, which only the back end may send
    [InlineData(1u, 100_000u)]
    public void A_bad_header_closes_the_connection(uint flags, uint size)
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = Handshake.Connect(bed);
        var header = new VhostUserHeader { Request = (uint)VhostUserRequest.GetFeatures, Flags = (VhostUserHeaderFlags)flags, PayloadSize = size };
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserHeader>(in header)).ToArray();
        using var raw = UnixSocket.Connect(bed.SocketPath);
        frontend.Dispose();
        raw.Send(bytes);
        var buffer = new byte[16];
        Assert.Equal(0, raw.Receive(buffer, new Microsoft.Win32.SafeHandles.SafeFileHandle?[1], out _));
        Assert.True(bed.Log.Contains(LogLevel.Error, "closing the connection"));
    }

    [Fact]
    public void One_broken_front_end_does_not_stop_another_device_of_the_daemon()
    {
        using var first = new VhostUserTestBed(new RngDevice());
        using var second = new VhostUserTestBed(new RngDevice());
        using var good = Handshake.Connect(second);
        using (var bad = Handshake.Connect(first, replyAck: false))
        {
            bad.SendRaw(12345, (uint)VhostUserHeaderFlags.Version1, new byte[7], [], expectReply: false);
            Assert.True(bad.IsClosedByPeer());
        }

        using var queue = FrontendQueue.Start(good, second.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        good.SetVringEnable(0, true);
        Assert.True(queue.Driver.TryAdd([new(VhostUserTestBed.DataBase, 16, true)], false, out _));
        queue.Submit();
        Assert.True(queue.TryWaitUsed(out _, out _, 5000));
    }

    private static void StillServes(VhostUserFrontend frontend) =>
        Assert.NotEqual(0UL, frontend.GetFeatures() & VirtioFeature.Bit(VirtioFeature.Version1));

    private static VhostUserMemoryRegion Region(ulong guest, ulong size) =>
        new() { GuestPhysAddr = guest, MemorySize = size, UserspaceAddr = unchecked(guest + 0x7000_0000_0000), MmapOffset = 0 };

    private static ulong SendMemTable(VhostUserFrontend frontend, VhostUserMemoryRegion[] regions, int[] fds)
    {
        var payload = new byte[VhostUserMemoryHeader.Size + (regions.Length * VhostUserMemoryRegion.Size)];
        var header = new VhostUserMemoryHeader { NRegions = (uint)regions.Length };
        MemoryMarshal.Write(payload, in header);
        for (var i = 0; i < regions.Length; i++)
        {
            MemoryMarshal.Write(payload.AsSpan(VhostUserMemoryHeader.Size + (i * VhostUserMemoryRegion.Size)), in regions[i]);
        }

        return MemoryMarshal.Read<ulong>(frontend.SendRaw((uint)VhostUserRequest.SetMemTable, NeedReply, payload, fds, expectReply: true));
    }
}
