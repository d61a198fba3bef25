using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>
/// RESOURCE_CREATE_3D, virtio 1.2 §5.7.6.8: header, resource_id, then target, format, bind, width,
/// height, depth, array_size, last_level, nr_samples and flags in the renderer's own terms
/// (Gallium's pipe targets and formats for virgl), padding.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuResourceCreate3d
{
    public const int Size = 72;
    public const int ResourceIdOffset = 24;
    public const int TargetOffset = 28;
    public const int FormatOffset = 32;
    public const int BindOffset = 36;
    public const int WidthOffset = 40;
    public const int HeightOffset = 44;
    public const int DepthOffset = 48;
    public const int ArraySizeOffset = 52;
    public const int LastLevelOffset = 56;
    public const int NrSamplesOffset = 60;
    public const int FlagsOffset = 64;

    private VirtioGpuCtrlHeader _header;
    private uint _resourceId;
    private uint _target;
    private uint _format;
    private uint _bind;
    private uint _width;
    private uint _height;
    private uint _depth;
    private uint _arraySize;
    private uint _lastLevel;
    private uint _nrSamples;
    private uint _flags;
    private readonly uint _padding;

    /// <summary>The message header.</summary>
    public VirtioGpuCtrlHeader Header { readonly get => _header; set => _header = value; }

    public uint ResourceId { readonly get => LittleEndian.ToHost(_resourceId); set => _resourceId = LittleEndian.FromHost(value); }

    public uint Target { readonly get => LittleEndian.ToHost(_target); set => _target = LittleEndian.FromHost(value); }

    public uint Format { readonly get => LittleEndian.ToHost(_format); set => _format = LittleEndian.FromHost(value); }

    public uint Bind { readonly get => LittleEndian.ToHost(_bind); set => _bind = LittleEndian.FromHost(value); }

    public uint Width { readonly get => LittleEndian.ToHost(_width); set => _width = LittleEndian.FromHost(value); }

    public uint Height { readonly get => LittleEndian.ToHost(_height); set => _height = LittleEndian.FromHost(value); }

    public uint Depth { readonly get => LittleEndian.ToHost(_depth); set => _depth = LittleEndian.FromHost(value); }

    public uint ArraySize { readonly get => LittleEndian.ToHost(_arraySize); set => _arraySize = LittleEndian.FromHost(value); }

    public uint LastLevel { readonly get => LittleEndian.ToHost(_lastLevel); set => _lastLevel = LittleEndian.FromHost(value); }

    public uint NrSamples { readonly get => LittleEndian.ToHost(_nrSamples); set => _nrSamples = LittleEndian.FromHost(value); }

    public uint Flags { readonly get => LittleEndian.ToHost(_flags); set => _flags = LittleEndian.FromHost(value); }
}
