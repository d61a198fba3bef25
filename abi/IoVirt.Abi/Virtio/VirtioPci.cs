namespace IoVirt.Abi.Virtio;

/// <summary>
/// The virtio-pci modern transport (virtio 1.2, 4.1; linux/virtio_pci.h): PCI IDs, capability
/// layouts and the common configuration structure's offsets. All fields are little-endian.
/// </summary>
public static class VirtioPci
{
    public const ushort VendorId = 0x1af4;

    /// <summary>A modern device's PCI device ID is this plus its virtio device ID.</summary>
    public const ushort ModernDeviceIdBase = 0x1040;

    /// <summary>Capability types (cfg_type).</summary>
    public const byte CapCommonCfg = 1, CapNotifyCfg = 2, CapIsrCfg = 3, CapDeviceCfg = 4, CapPciCfg = 5;

    // struct virtio_pci_cap, after the PCI capability ID and next pointer.
    public const int CapLength = 16;
    public const int CapLen = 2, CapCfgType = 3, CapBar = 4, CapId = 5, CapOffset = 8, CapLengthField = 12;

    /// <summary>struct virtio_pci_notify_cap: the cap, then notify_off_multiplier.</summary>
    public const int NotifyCapLength = 20, NotifyOffMultiplier = 16;

    /// <summary>struct virtio_pci_cfg_cap: the cap, then pci_cfg_data, a window into the BAR the cap names.</summary>
    public const int PciCfgCapLength = 20, PciCfgData = 16;

    // struct virtio_pci_common_cfg.
    public const int CommonCfgLength = 56;
    public const int DeviceFeatureSelect = 0, DeviceFeature = 4, DriverFeatureSelect = 8, DriverFeature = 12;
    public const int ConfigMsixVector = 16, NumQueues = 18, DeviceStatus = 20, ConfigGeneration = 21;
    public const int QueueSelect = 22, QueueSize = 24, QueueMsixVector = 26, QueueEnable = 28, QueueNotifyOff = 30;
    public const int QueueDesc = 32, QueueDriver = 40, QueueDevice = 48;

    /// <summary>An MSI-X vector number that means none (VIRTIO_MSI_NO_VECTOR).</summary>
    public const ushort NoVector = 0xffff;

    /// <summary>ISR status bits: a queue interrupt, a configuration change.</summary>
    public const byte IsrQueue = 1, IsrConfig = 2;
}
