using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Payload of the back-end's VRING_HOST_NOTIFIER_MSG (vhost-user.rst, "Vring area description"): a
/// u64 holding the ring index and flags (see <see cref="VhostUserVringIndex"/>), then the size and
/// offset of the area to map from the accompanying fd, u64 each, native byte order.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserVringArea
{
    public const int Size = 24;
    public const int IndexAndFlagsOffset = 0;
    public const int AreaSizeOffset = 8;
    public const int AreaOffsetOffset = 16;

    private ulong _indexAndFlags;
    private ulong _areaSize;
    private ulong _areaOffset;

    /// <summary>Ring index in bits 0-7, no-fd flag in bit 8 (u64, native order).</summary>
    public ulong IndexAndFlags { readonly get => _indexAndFlags; set => _indexAndFlags = value; }

    /// <summary>Bytes to map, normally one host page (u64, native order).</summary>
    public ulong AreaSize { readonly get => _areaSize; set => _areaSize = value; }

    /// <summary>Offset of the area in the fd (u64, native order).</summary>
    public ulong AreaOffset { readonly get => _areaOffset; set => _areaOffset = value; }
}
