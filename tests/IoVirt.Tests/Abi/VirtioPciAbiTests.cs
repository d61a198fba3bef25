using IoVirt.Abi.Virtio;

namespace IoVirt.Tests.Abi;

/// <summary>The virtio-pci capability and common configuration layouts (IoVirt.Abi.Virtio.VirtioPci) against &lt;linux/virtio_pci.h&gt;.</summary>
[Collection(CHeaderCollection.Name)]
[Trait(Tier.Name, Tier.Integration)]
public sealed class VirtioPciAbiTests(CHeaderProbe probe)
{
    [Fact]
    public void Capabilities_match_the_header()
    {
        CHeaderAssert.Struct(probe, "virtio_pci_cap", VirtioPci.CapLength, ("cap_len", VirtioPci.CapLen), ("cfg_type", VirtioPci.CapCfgType),
            ("bar", VirtioPci.CapBar), ("id", VirtioPci.CapId), ("offset", VirtioPci.CapOffset), ("length", VirtioPci.CapLengthField));
        CHeaderAssert.Struct(probe, "virtio_pci_notify_cap", VirtioPci.NotifyCapLength, ("notify_off_multiplier", VirtioPci.NotifyOffMultiplier));
        CHeaderAssert.Struct(probe, "virtio_pci_cfg_cap", VirtioPci.PciCfgCapLength, ("pci_cfg_data", VirtioPci.PciCfgData));
    }

    [Fact]
    public void Common_configuration_matches_the_header() =>
        CHeaderAssert.Struct(probe, "virtio_pci_common_cfg", VirtioPci.CommonCfgLength,
            ("device_feature_select", VirtioPci.DeviceFeatureSelect), ("device_feature", VirtioPci.DeviceFeature),
            ("guest_feature_select", VirtioPci.DriverFeatureSelect), ("guest_feature", VirtioPci.DriverFeature),
            ("msix_config", VirtioPci.ConfigMsixVector), ("num_queues", VirtioPci.NumQueues), ("device_status", VirtioPci.DeviceStatus),
            ("config_generation", VirtioPci.ConfigGeneration), ("queue_select", VirtioPci.QueueSelect), ("queue_size", VirtioPci.QueueSize),
            ("queue_msix_vector", VirtioPci.QueueMsixVector), ("queue_enable", VirtioPci.QueueEnable),
            ("queue_notify_off", VirtioPci.QueueNotifyOff), ("queue_desc_lo", VirtioPci.QueueDesc),
            ("queue_avail_lo", VirtioPci.QueueDriver), ("queue_used_lo", VirtioPci.QueueDevice));

    [Fact]
    public void Constants_match_the_header()
    {
        Assert.Equal((ulong)VirtioPci.CapCommonCfg, probe.Value("VIRTIO_PCI_CAP_COMMON_CFG"));
        Assert.Equal((ulong)VirtioPci.CapNotifyCfg, probe.Value("VIRTIO_PCI_CAP_NOTIFY_CFG"));
        Assert.Equal((ulong)VirtioPci.CapIsrCfg, probe.Value("VIRTIO_PCI_CAP_ISR_CFG"));
        Assert.Equal((ulong)VirtioPci.CapDeviceCfg, probe.Value("VIRTIO_PCI_CAP_DEVICE_CFG"));
        Assert.Equal((ulong)VirtioPci.CapPciCfg, probe.Value("VIRTIO_PCI_CAP_PCI_CFG"));
        Assert.Equal((ulong)VirtioPci.NoVector, probe.Value("VIRTIO_MSI_NO_VECTOR"));
        Assert.Equal((ulong)VirtioPci.IsrConfig, probe.Value("VIRTIO_PCI_ISR_CONFIG"));
    }
}
