using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Blk;

/// <summary>
/// Reply of a GET_LIFETIME request (struct virtio_blk_lifetime, virtio 1.2 §5.2.6): the eMMC/UFS
/// style wear indicators pre_eol_info, device_lifetime_est_typ_a and _typ_b, le16 each.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioBlkLifetime
{
    public const int Size = 6;

    /// <summary>pre_eol_info value: not defined.</summary>
    public const ushort PreEolUndefined = 0;

    /// <summary>pre_eol_info value: fewer than 80% of reserved blocks consumed.</summary>
    public const ushort PreEolNormal = 1;

    /// <summary>pre_eol_info value: 80% of reserved blocks consumed.</summary>
    public const ushort PreEolWarning = 2;

    /// <summary>pre_eol_info value: 90% of reserved blocks consumed.</summary>
    public const ushort PreEolUrgent = 3;

    private ushort _preEolInfo;
    private ushort _deviceLifetimeEstTypA;
    private ushort _deviceLifetimeEstTypB;

    /// <summary>Consumption of reserved blocks (le16).</summary>
    public ushort PreEolInfo { readonly get => LittleEndian.ToHost(_preEolInfo); set => _preEolInfo = LittleEndian.FromHost(value); }

    /// <summary>Wear of SLC cells in 10% steps, 11 meaning exceeded (le16).</summary>
    public ushort DeviceLifetimeEstTypA { readonly get => LittleEndian.ToHost(_deviceLifetimeEstTypA); set => _deviceLifetimeEstTypA = LittleEndian.FromHost(value); }

    /// <summary>Wear of MLC cells, same scale as type A (le16).</summary>
    public ushort DeviceLifetimeEstTypB { readonly get => LittleEndian.ToHost(_deviceLifetimeEstTypB); set => _deviceLifetimeEstTypB = LittleEndian.FromHost(value); }
}
