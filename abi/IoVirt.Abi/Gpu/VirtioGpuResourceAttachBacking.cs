using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// RESOURCE_ATTACH_BACKING, virtio 1.2 §5.7.6.8: header, resource_id, nr_entries; followed by
/// nr_entries <see cref="VirtioGpuMemEntry"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuResourceAttachBacking
{
    public const int Size = 32;
    public const int HeaderOffset = 0;
    public const int ResourceIdOffset = 24;
    public const int NrEntriesOffset = 28;

    private VirtioGpuCtrlHeader _header;
    private uint _resourceId;
    private uint _nrEntries;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    /// <summary>The resource (le32).</summary>
    public uint ResourceId { readonly get => LittleEndian.ToHost(_resourceId); set => _resourceId = LittleEndian.FromHost(value); }

    /// <summary>Guest memory entries that follow (le32).</summary>
    public uint NrEntries { readonly get => LittleEndian.ToHost(_nrEntries); set => _nrEntries = LittleEndian.FromHost(value); }
}
