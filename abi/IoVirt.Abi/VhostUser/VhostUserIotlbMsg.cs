using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>Access rights in an IOTLB message (vhost-user.rst, "An IOTLB message").</summary>
[Flags]
public enum VhostIotlbAccess : byte
{
    None = 0,
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
}

/// <summary>Kinds of IOTLB message (vhost-user.rst, "An IOTLB message").</summary>
public enum VhostIotlbType : byte
{
    /// <summary>Back-end to front-end: no translation for this IOVA.</summary>
    Miss = 1,
    /// <summary>Front-end to back-end: add a translation.</summary>
    Update = 2,
    /// <summary>Front-end to back-end: drop translations in a range.</summary>
    Invalidate = 3,
    /// <summary>Back-end to front-end: the access was not permitted.</summary>
    AccessFail = 4,
}

/// <summary>
/// IOTLB payload (struct vhost_iotlb_msg; vhost-user.rst, "An IOTLB message"): iova, size and user
/// address (u64), permissions and type (u8), native byte order. The C struct's alignment pads it to
/// 32 bytes, and that is the size sent.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserIotlbMsg
{
    public const int Size = 32;
    public const int IovaOffset = 0;
    public const int RangeSizeOffset = 8;
    public const int UserAddrOffset = 16;
    public const int PermOffset = 24;
    public const int TypeOffset = 25;

    private ulong _iova;
    private ulong _rangeSize;
    private ulong _userAddr;
    private byte _perm;
    private byte _type;

    /// <summary>I/O virtual address the guest programmed (u64, native order).</summary>
    public ulong Iova { readonly get => _iova; set => _iova = value; }

    /// <summary>Length of the range (u64, native order).</summary>
    public ulong RangeSize { readonly get => _rangeSize; set => _rangeSize = value; }

    /// <summary>Front-end user address the IOVA maps to (u64, native order).</summary>
    public ulong UserAddr { readonly get => _userAddr; set => _userAddr = value; }

    public VhostIotlbAccess Perm { readonly get => (VhostIotlbAccess)_perm; set => _perm = (byte)value; }

    public VhostIotlbType Type { readonly get => (VhostIotlbType)_type; set => _type = (byte)value; }
}
