using IoVirt.Abi.Net;
using IoVirt.Abi.Virtio;

namespace IoVirt.Backends.Net;

/// <summary>Translation between virtio-net feature bits and <see cref="NetOffloads"/>.</summary>
public static class NetFeatures
{
    /// <summary>Device bits for the transmit offloads a port takes (HOST_*); CSUM is always offered, finished in software where the port cannot.</summary>
    public static ulong HostBits(NetOffloads port) =>
        VirtioFeature.Bit(VirtioNetFeature.Csum)
        | ((port & NetOffloads.Tso4) != 0 ? VirtioFeature.Bit(VirtioNetFeature.HostTso4) : 0)
        | ((port & NetOffloads.Tso6) != 0 ? VirtioFeature.Bit(VirtioNetFeature.HostTso6) : 0)
        | ((port & NetOffloads.Ecn) != 0 ? VirtioFeature.Bit(VirtioNetFeature.HostEcn) : 0);

    /// <summary>Device bits for the receive offloads a port may hand over (GUEST_*).</summary>
    public static ulong GuestBits(NetOffloads port) =>
        ((port & NetOffloads.Csum) != 0 ? VirtioFeature.Bit(VirtioNetFeature.GuestCsum) : 0)
        | ((port & NetOffloads.Tso4) != 0 ? VirtioFeature.Bit(VirtioNetFeature.GuestTso4) : 0)
        | ((port & NetOffloads.Tso6) != 0 ? VirtioFeature.Bit(VirtioNetFeature.GuestTso6) : 0)
        | ((port & NetOffloads.Ecn) != 0 ? VirtioFeature.Bit(VirtioNetFeature.GuestEcn) : 0);

    /// <summary>The transmit offloads negotiated bits allow.</summary>
    public static NetOffloads HostOffloads(ulong features) =>
        Map(features, VirtioNetFeature.Csum, VirtioNetFeature.HostTso4, VirtioNetFeature.HostTso6, VirtioNetFeature.HostEcn);

    /// <summary>The receive offloads negotiated (or CTRL_GUEST_OFFLOADS) bits allow.</summary>
    public static NetOffloads GuestOffloads(ulong features) =>
        Map(features, VirtioNetFeature.GuestCsum, VirtioNetFeature.GuestTso4, VirtioNetFeature.GuestTso6, VirtioNetFeature.GuestEcn);

    private static NetOffloads Map(ulong features, int csum, int tso4, int tso6, int ecn) =>
        ((features & VirtioFeature.Bit(csum)) != 0 ? NetOffloads.Csum : 0)
        | ((features & VirtioFeature.Bit(tso4)) != 0 ? NetOffloads.Tso4 : 0)
        | ((features & VirtioFeature.Bit(tso6)) != 0 ? NetOffloads.Tso6 : 0)
        | ((features & VirtioFeature.Bit(ecn)) != 0 ? NetOffloads.Ecn : 0);
}
