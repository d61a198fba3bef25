using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Net;

/// <summary>Bits of the status field of the network config space, virtio 1.2 §5.1.4.</summary>
[Flags]
public enum VirtioNetStatus : ushort
{
    None = 0,
    LinkUp = 1,
    /// <summary>The device asks the driver to send gratuitous packets (GUEST_ANNOUNCE).</summary>
    Announce = 2,
}

/// <summary>
/// Network device configuration space (struct virtio_net_config, virtio 1.2 §5.1.4): mac[6], status,
/// max_virtqueue_pairs and mtu (le16), speed (le32), duplex and rss_max_key_size (u8),
/// rss_max_indirection_table_length (le16), supported_hash_types (le32). Every field is naturally
/// aligned, so this sequential layout equals the packed C struct. Fields are valid only with their features.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioNetConfig
{
    public const int Size = 24;
    public const int MacOffset = 0;
    public const int StatusOffset = 6;
    public const int MaxVirtqueuePairsOffset = 8;
    public const int MtuOffset = 10;
    public const int SpeedOffset = 12;
    public const int DuplexOffset = 16;
    public const int RssMaxKeySizeOffset = 17;
    public const int RssMaxIndirectionTableLengthOffset = 18;
    public const int SupportedHashTypesOffset = 20;

    /// <summary>A speed meaning unknown: the spec gives speeds 0 to int.MaxValue and treats every other value as unknown.</summary>
    public const uint SpeedUnknown = uint.MaxValue;

    /// <summary>duplex value for half duplex.</summary>
    public const byte DuplexHalf = 0;

    /// <summary>duplex value for full duplex; any value but 0 and 1 means unknown.</summary>
    public const byte DuplexFull = 1;

    private VirtioNetMacAddress _mac;
    private ushort _status;
    private ushort _maxVirtqueuePairs;
    private ushort _mtu;
    private uint _speed;
    private byte _duplex;
    private byte _rssMaxKeySize;
    private ushort _rssMaxIndirectionTableLength;
    private uint _supportedHashTypes;

    /// <summary>Device MAC address, with MAC.</summary>
    public VirtioNetMacAddress Mac { readonly get => _mac; set => _mac = value; }

    /// <summary>Link status, with STATUS (le16).</summary>
    public VirtioNetStatus Status { readonly get => (VirtioNetStatus)LittleEndian.ToHost(_status); set => _status = LittleEndian.FromHost((ushort)value); }

    /// <summary>Receive/transmit queue pairs the device supports, 1 to 0x8000, with MQ or RSS (le16).</summary>
    public ushort MaxVirtqueuePairs { readonly get => LittleEndian.ToHost(_maxVirtqueuePairs); set => _maxVirtqueuePairs = LittleEndian.FromHost(value); }

    /// <summary>Maximum MTU the driver should use, with MTU (le16).</summary>
    public ushort Mtu { readonly get => LittleEndian.ToHost(_mtu); set => _mtu = LittleEndian.FromHost(value); }

    /// <summary>Link speed in Mbit/s, with SPEED_DUPLEX (le32).</summary>
    public uint Speed { readonly get => LittleEndian.ToHost(_speed); set => _speed = LittleEndian.FromHost(value); }

    /// <summary>Duplex mode, with SPEED_DUPLEX (u8).</summary>
    public byte Duplex { readonly get => _duplex; set => _duplex = value; }

    /// <summary>Longest RSS key, with RSS or HASH_REPORT (u8).</summary>
    public byte RssMaxKeySize { readonly get => _rssMaxKeySize; set => _rssMaxKeySize = value; }

    /// <summary>Most RSS indirection table entries, with RSS (le16).</summary>
    public ushort RssMaxIndirectionTableLength { readonly get => LittleEndian.ToHost(_rssMaxIndirectionTableLength); set => _rssMaxIndirectionTableLength = LittleEndian.FromHost(value); }

    /// <summary>Hash types the device can compute, with RSS or HASH_REPORT (le32).</summary>
    public VirtioNetHashType SupportedHashTypes { readonly get => (VirtioNetHashType)LittleEndian.ToHost(_supportedHashTypes); set => _supportedHashTypes = LittleEndian.FromHost((uint)value); }
}
