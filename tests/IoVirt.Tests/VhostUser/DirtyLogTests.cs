using IoVirt.Abi.VhostUser;
using IoVirt.Abi.Virtio;
using IoVirt.Memory;
using IoVirt.Testing;
using IoVirt.Virtqueue.Driver;
using IoVirt.VhostUser;

namespace IoVirt.Tests.VhostUser;

/// <summary>LOG_SHMFD and VHOST_F_LOG_ALL: the back end marks every page it writes in the front end's log.</summary>
public class DirtyLogTests
{
    private const ulong LogBytes = 64 << 10; // covers guest-physical pages up to 2 GiB

    [Fact]
    public unsafe void Pages_the_device_writes_are_marked_in_the_shared_log_once_logging_is_on_and_only_those()
    {
        using var bed = new VhostUserTestBed(new EchoDevice());
        using var frontend = Handshake.Connect(bed);
        using var logMemory = new GuestMemory(GuestRegion.CreateMemfd(0, LogBytes, "dirty-log"));
        var log = new Span<byte>(logMemory.Regions[0].Host, (int)LogBytes);
        using var queue = FrontendQueue.Start(frontend, bed.Memory, 0, 8, packed: false, eventIdx: true, VhostUserTestBed.RingBase(0));
        frontend.SetVringEnable(0, true);

        var before = VhostUserTestBed.DataBase;
        Echo(bed, queue, before);
        Assert.True(log.IndexOfAnyExcept((byte)0) < 0, "pages were logged before logging was on");

        frontend.SetFeatures(frontend.GetFeatures() & (VirtioFeature.Bit(VirtioFeature.Version1) | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures)
            | VirtioFeature.Bit(VirtioFeature.RingEventIdx) | VirtioFeature.Bit(VirtioFeature.RingIndirectDesc) | VirtioFeature.Bit(VhostUserLog.LogAllFeature)));
        frontend.SetLogBase(logMemory.Regions[0].File!, LogBytes);

        var written = VhostUserTestBed.DataBase + 0x3_0000;
        Echo(bed, queue, written);

        var usedRing = queue.Driver.Config.DeviceArea;
        Assert.True(IsMarked(log, written + 0x1000), "the page of the writable buffer is not marked");
        Assert.True(IsMarked(log, usedRing), "the used ring's page is not marked");
        Assert.False(IsMarked(log, written), "the page of the readable buffer (never written by the device) is marked");
        Assert.False(IsMarked(log, before + 0x1000), "a page written before logging is marked");
        Assert.False(IsMarked(log, VhostUserTestBed.DataBase + 0x20_0000), "an untouched page is marked");

        // Turning LOG_ALL off stops logging. Until the reply, the device may still log (a busy-polling
        // worker turns notifications back on), so the log is cleared after it.
        frontend.SetFeatures(frontend.GetFeatures() & (VirtioFeature.Bit(VirtioFeature.Version1) | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures) | VirtioFeature.Bit(VirtioFeature.RingEventIdx)));
        log.Clear();
        Echo(bed, queue, written);
        Assert.True(log.IndexOfAnyExcept((byte)0) < 0, "pages were logged after logging was turned off");
    }

    [Fact]
    public void Bad_logs_and_mismatched_used_ring_log_addresses_are_refused()
    {
        using var bed = new VhostUserTestBed(new EchoDevice());
        using var frontend = Handshake.Connect(bed);
        using var logMemory = new GuestMemory(GuestRegion.CreateMemfd(0, LogBytes, "dirty-log"));
        var file = logMemory.Regions[0].File!;
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetLogBase(file, LogBytes * 2));
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetLogBase(file, 0));

        var config = RingLayout.Split(VhostUserTestBed.RingBase(0), 8);
        var used = FrontendQueue.UserAddress(bed.Memory, config.DeviceArea);
        var desc = FrontendQueue.UserAddress(bed.Memory, config.DescriptorTable);
        var avail = FrontendQueue.UserAddress(bed.Memory, config.DriverArea);
        // LOG_ALL not negotiated yet.
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetVringAddrLogged(0, desc, avail, used, config.DeviceArea));
        frontend.SetFeatures(frontend.GetFeatures() & (VirtioFeature.Bit(VirtioFeature.Version1) | VirtioFeature.Bit(VirtioFeature.VhostUserProtocolFeatures) | VirtioFeature.Bit(VhostUserLog.LogAllFeature)));
        Assert.Throws<VhostUserProtocolException>(() => frontend.SetVringAddrLogged(0, desc, avail, used, config.DeviceArea + 4096));
        frontend.SetVringAddrLogged(0, desc, avail, used, config.DeviceArea);
    }

    private static void Echo(VhostUserTestBed bed, FrontendQueue queue, ulong address)
    {
        Assert.Equal(MemoryFault.None, bed.Memory.Write(address, [1, 2, 3, 4, 5, 6, 7, 8]));
        Assert.True(queue.Driver.TryAdd([new DriverBuffer(address, 8, false), new DriverBuffer(address + 0x1000, 8, true)], false, out _));
        queue.Submit();
        Assert.True(queue.TryWaitUsed(out _, out var written, 5000));
        Assert.Equal(8u, written);
    }

    private static bool IsMarked(Span<byte> log, ulong guestAddress)
    {
        var page = guestAddress >> 12;
        return (log[(int)(page >> 3)] & (1 << (int)(page & 7))) != 0;
    }
}
