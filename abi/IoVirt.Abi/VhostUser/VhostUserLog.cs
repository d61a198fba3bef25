using System.Runtime.InteropServices;

namespace IoVirt.Abi.VhostUser;

/// <summary>
/// Payload of SET_LOG_BASE with LOG_SHMFD (vhost-user.rst, "Log description"): size of the dirty
/// log and its offset in the accompanying fd, u64 each, native byte order. The log holds one bit per
/// <see cref="LogPageSize"/> page of guest-physical memory, starting at address 0.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VhostUserLog
{
    public const int Size = 16;
    public const int MmapSizeOffset = 0;
    public const int MmapOffsetOffset = 8;

    /// <summary>Bytes of guest memory each log bit covers (VHOST_LOG_PAGE).</summary>
    public const int LogPageSize = 0x1000;

    /// <summary>The vhost feature bit VHOST_F_LOG_ALL, set with SET_FEATURES to start dirty logging.</summary>
    public const int LogAllFeature = 26;

    private ulong _mmapSize;
    private ulong _mmapOffset;

    /// <summary>Bytes of log (u64, native order).</summary>
    public ulong MmapSize { readonly get => _mmapSize; set => _mmapSize = value; }

    /// <summary>Where in the fd the log begins (u64, native order).</summary>
    public ulong MmapOffset { readonly get => _mmapOffset; set => _mmapOffset = value; }
}
