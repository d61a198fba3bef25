using IoVirt.Abi.Virtio;
using IoVirt.Backends.Rng;
using IoVirt.Testing;
using Microsoft.Extensions.Logging;

namespace IoVirt.Tests.VhostUser;

/// <summary>
/// SET_FEATURES takes only what GET_FEATURES offered, except transport bits a front end's own
/// transport implements: QEMU 10's vhost-user-gpu passes RING_RESET on, which is dropped with a
/// warning rather than the connection.
/// </summary>
public sealed class FeatureNegotiationTests
{
    [Fact]
    public void A_ring_reset_bit_never_offered_is_dropped_with_a_warning()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = bed.Connect();
        frontend.SetProtocolFeatures(frontend.GetProtocolFeatures());
        var offered = frontend.GetFeatures();
        Assert.Equal(0UL, offered & VirtioFeature.Bit(VirtioFeature.RingReset));
        frontend.SetFeatures(VirtioFeature.Bit(VirtioFeature.Version1) | VirtioFeature.Bit(VirtioFeature.RingReset));
        Assert.Equal(offered, frontend.GetFeatures());
        Assert.True(bed.Log.Contains(LogLevel.Warning, "transport bits never offered (0x10000000000)"));
    }

    [Fact]
    public void A_device_bit_never_offered_is_refused()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = bed.Connect();
        frontend.SetProtocolFeatures(frontend.GetProtocolFeatures());
        Assert.ThrowsAny<Exception>(() => frontend.SetFeatures(VirtioFeature.Bit(VirtioFeature.Version1) | VirtioFeature.Bit(3)));
        Assert.True(bed.Log.Contains(LogLevel.Warning, "include bits never offered (0x8)") || bed.Log.Contains(LogLevel.Error, "include bits never offered (0x8)"));
    }

    [Fact]
    public void Only_a_device_that_announces_migrations_offers_RARP_and_SEND_RARP_needs_it()
    {
        using var bed = new VhostUserTestBed(new RngDevice());
        using var frontend = bed.Connect();
        var offered = frontend.GetProtocolFeatures();
        Assert.Equal(IoVirt.Abi.VhostUser.VhostUserProtocolFeatures.None, offered & IoVirt.Abi.VhostUser.VhostUserProtocolFeatures.Rarp);
        frontend.SetProtocolFeatures(offered);
        Assert.ThrowsAny<Exception>(() =>
        {
            frontend.SendRarp(EthernetFrames.DeviceMac);
            _ = frontend.GetFeatures();
        });
        Assert.True(bed.Log.Contains(LogLevel.Warning, "Rarp was not negotiated") || bed.Log.Contains(LogLevel.Error, "Rarp was not negotiated"));
    }
}
