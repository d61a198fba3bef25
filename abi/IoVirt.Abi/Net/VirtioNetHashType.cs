namespace IoVirt.Abi.Net;

/// <summary>Hash types for RSS and hash reporting (supported_hash_types, hash_types), virtio 1.2 §5.1.6.4.</summary>
[Flags]
public enum VirtioNetHashType : uint
{
    None = 0,
    IPv4 = 1 << 0,
    TcpV4 = 1 << 1,
    UdpV4 = 1 << 2,
    IPv6 = 1 << 3,
    TcpV6 = 1 << 4,
    UdpV6 = 1 << 5,
    /// <summary>IPv6 with extension headers considered.</summary>
    IPEx = 1 << 6,
    TcpEx = 1 << 7,
    UdpEx = 1 << 8,
}
