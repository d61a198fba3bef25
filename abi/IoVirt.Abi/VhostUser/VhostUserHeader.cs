using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Header of every vhost-user message (QEMU docs/interop/vhost-user.rst, "Header"): request
/// code, flags, payload size; 32-bit native-endian fields, like the whole protocol.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = HeaderSize)]
public struct VhostUserHeader
{
    public const int HeaderSize = 12;

    /// <summary>The low two flag bits carry the protocol version.</summary>
    public const uint VersionMask = 0x3;
    public const uint Version1 = 0x1;

    /// <summary>Set on every reply from the back end.</summary>
    public const uint ReplyFlag = 1 << 2;

    /// <summary>The sender asks for a REPLY_ACK answer.</summary>
    public const uint NeedReplyFlag = 1 << 3;

    public uint Request;
    public uint Flags;
    public uint Size;
}
