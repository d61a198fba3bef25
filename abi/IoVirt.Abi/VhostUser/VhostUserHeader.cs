using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>Bits of the vhost-user header flags field (QEMU docs/interop/vhost-user.rst, "Header").</summary>
[Flags]
public enum VhostUserHeaderFlags : uint
{
    None = 0,
    /// <summary>Protocol version 1, the only version; it occupies the low two bits.</summary>
    Version1 = 1,
    /// <summary>Mask of the version bits.</summary>
    VersionMask = 0x3,
    /// <summary>Set on every reply from the back-end.</summary>
    Reply = 1 << 2,
    /// <summary>The sender asks for a reply (needs REPLY_ACK unless the request always has one).</summary>
    NeedReply = 1 << 3,
}

/// <summary>
/// Header of every vhost-user message (vhost-user.rst, "Header"): request, flags and payload size,
/// u32 each, followed by size bytes of payload. vhost-user is host-local, so unlike the virtio
/// layouts every number is in the machine's native byte order and the accessors do no conversion.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserHeader
{
    public const int Size = 12;
    public const int RequestOffset = 0;
    public const int FlagsOffset = 4;
    public const int PayloadSizeOffset = 8;

    /// <summary>
    /// Largest payload this library accepts. The spec sets no bound; every payload it defines is far
    /// smaller (the largest, a config access, is 12 + 256 bytes).
    /// </summary>
    public const int MaxPayloadSize = 0x1000;

    /// <summary>Most file descriptors one message carries in its ancillary data.</summary>
    public const int MaxFds = 8;

    private uint _request;
    private uint _flags;
    private uint _payloadSize;

    /// <summary>
    /// Request code: a <see cref="VhostUserRequest"/> on the front-end's socket, a
    /// <see cref="VhostUserBackendRequest"/> on the back-end's channel (u32, native order).
    /// </summary>
    public uint Request { readonly get => _request; set => _request = value; }

    /// <summary>Version and reply bits (u32, native order).</summary>
    public VhostUserHeaderFlags Flags { readonly get => (VhostUserHeaderFlags)_flags; set => _flags = (uint)value; }

    /// <summary>Bytes of payload after the header (u32, native order).</summary>
    public uint PayloadSize { readonly get => _payloadSize; set => _payloadSize = value; }
}
