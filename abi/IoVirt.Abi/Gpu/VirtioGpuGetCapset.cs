using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// GET_CAPSET, virtio 1.2 §5.7.6.8: header, capset_id, capset_version. The answer
/// (virtio_gpu_resp_capset) is a header followed by the set's bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuGetCapset
{
    public const int Size = 32;
    public const int CapsetIdOffset = 24;
    public const int CapsetVersionOffset = 28;

    private VirtioGpuCtrlHeader _header;
    private uint _capsetId;
    private uint _capsetVersion;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>A <see cref="VirtioGpuCapset"/> id (le32).</summary>
    public uint CapsetId { readonly get => LittleEndian.ToHost(_capsetId); set => _capsetId = LittleEndian.FromHost(value); }

    /// <summary>The version wanted, at most the one GET_CAPSET_INFO gave (le32).</summary>
    public uint CapsetVersion { readonly get => LittleEndian.ToHost(_capsetVersion); set => _capsetVersion = LittleEndian.FromHost(value); }
}
