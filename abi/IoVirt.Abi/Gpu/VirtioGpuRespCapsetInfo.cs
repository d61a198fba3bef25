using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>The answer to GET_CAPSET_INFO, virtio 1.2 §5.7.6.8: header, capset_id, capset_max_version, capset_max_size, padding.</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuRespCapsetInfo
{
    public const int Size = 40;
    public const int CapsetIdOffset = 24;
    public const int CapsetMaxVersionOffset = 28;
    public const int CapsetMaxSizeOffset = 32;

    private VirtioGpuCtrlHeader _header;
    private uint _capsetId;
    private uint _capsetMaxVersion;
    private uint _capsetMaxSize;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>A <see cref="VirtioGpuCapset"/> id (le32).</summary>
    public uint CapsetId { readonly get => LittleEndian.ToHost(_capsetId); set => _capsetId = LittleEndian.FromHost(value); }

    /// <summary>Newest version of the set the device can give (le32).</summary>
    public uint CapsetMaxVersion { readonly get => LittleEndian.ToHost(_capsetMaxVersion); set => _capsetMaxVersion = LittleEndian.FromHost(value); }

    /// <summary>Bytes of the set's largest version (le32).</summary>
    public uint CapsetMaxSize { readonly get => LittleEndian.ToHost(_capsetMaxSize); set => _capsetMaxSize = LittleEndian.FromHost(value); }
}
