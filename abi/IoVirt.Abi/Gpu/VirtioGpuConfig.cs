using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// GPU configuration space, virtio 1.2 §5.7.4: events_read, events_clear, num_scanouts and
/// num_capsets (le32 each). The driver writes events_clear to acknowledge events.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuConfig
{
    public const int Size = 16;
    public const int EventsReadOffset = 0;
    public const int EventsClearOffset = 4;
    public const int NumScanoutsOffset = 8;
    public const int NumCapsetsOffset = 12;

    /// <summary>events_read bit: the display configuration changed; the driver should ask GET_DISPLAY_INFO again.</summary>
    public const uint EventDisplay = 1 << 0;

    /// <summary>Most scanouts a device may have (VIRTIO_GPU_MAX_SCANOUTS).</summary>
    public const int MaxScanouts = 16;

    private uint _eventsRead;
    private uint _eventsClear;
    private uint _numScanouts;
    private uint _numCapsets;

    public uint EventsRead { readonly get => LittleEndian.ToHost(_eventsRead); set => _eventsRead = LittleEndian.FromHost(value); }

    public uint EventsClear { readonly get => LittleEndian.ToHost(_eventsClear); set => _eventsClear = LittleEndian.FromHost(value); }

    public uint NumScanouts { readonly get => LittleEndian.ToHost(_numScanouts); set => _numScanouts = LittleEndian.FromHost(value); }

    public uint NumCapsets { readonly get => LittleEndian.ToHost(_numCapsets); set => _numCapsets = LittleEndian.FromHost(value); }
}
