namespace IoVirt.Abi.Virtio;

/// <summary>
/// Reserved (device-independent) feature bit numbers, virtio 1.2 §6. Device-specific bits live
/// with each device's layouts.
/// </summary>
public static class VirtioFeature
{
    public const int NotifyOnEmpty = 24;
    public const int AnyLayout = 27;
    public const int RingIndirectDesc = 28;
    public const int RingEventIdx = 29;
    public const int Version1 = 32;
    public const int AccessPlatform = 33;
    public const int RingPacked = 34;
    public const int InOrder = 35;
    public const int OrderPlatform = 36;
    public const int SrIov = 37;
    public const int NotificationData = 38;
    public const int NotifConfigData = 39;
    public const int RingReset = 40;

    /// <summary>vhost-user's "protocol features available" bit, offered in GET_FEATURES (§vhost-user).</summary>
    public const int VhostUserProtocolFeatures = 30;

    /// <summary>The mask of one feature bit.</summary>
    public static ulong Bit(int feature) => 1UL << feature;
}
