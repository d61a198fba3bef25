namespace IoVirt.Abi.Virtio;

/// <summary>
/// Device type IDs, virtio 1.2 §5: the number a transport reports so the driver knows what kind of
/// device it found (PCI derives its device ID from it, MMIO reports it in DeviceID).
/// </summary>
public enum VirtioDeviceId : uint
{
    /// <summary>Invalid; no device has this ID.</summary>
    Reserved = 0,
    Net = 1,
    Block = 2,
    Console = 3,
    /// <summary>Entropy source (virtio-rng).</summary>
    Entropy = 4,
    /// <summary>Traditional memory balloon.</summary>
    Balloon = 5,
    IoMemory = 6,
    Rpmsg = 7,
    ScsiHost = 8,
    /// <summary>9P transport.</summary>
    NineP = 9,
    Mac80211Wlan = 10,
    RprocSerial = 11,
    Caif = 12,
    MemoryBalloon = 13,
    Gpu = 16,
    /// <summary>Timer/clock device.</summary>
    Clock = 17,
    Input = 18,
    /// <summary>Socket device (virtio-vsock).</summary>
    Vsock = 19,
    Crypto = 20,
    SignalDistribution = 21,
    Pstore = 22,
    Iommu = 23,
    /// <summary>Memory device (virtio-mem).</summary>
    Mem = 24,
    Sound = 25,
    /// <summary>File system device (virtio-fs).</summary>
    Fs = 26,
    Pmem = 27,
    Rpmb = 28,
    Mac80211Hwsim = 29,
    VideoEncoder = 30,
    VideoDecoder = 31,
    Scmi = 32,
    NitroSecureModule = 33,
    I2cAdapter = 34,
    Watchdog = 35,
    Can = 36,
    /// <summary>Reserved for a dma-buf device (named VIRTIO_ID_DMABUF in Linux).</summary>
    Dmabuf = 37,
    ParameterServer = 38,
    AudioPolicy = 39,
    Bluetooth = 40,
    Gpio = 41,
}
