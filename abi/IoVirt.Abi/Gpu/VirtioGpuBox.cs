using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>A box in a 3D resource, virtio 1.2 §5.7.6.8 (virtio_gpu_box): x, y, z, w, h, d (le32 each).</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuBox
{
    public const int Size = 24;

    private uint _x;
    private uint _y;
    private uint _z;
    private uint _width;
    private uint _height;
    private uint _depth;

    public VirtioGpuBox(uint x, uint y, uint z, uint width, uint height, uint depth)
    {
        X = x;
        Y = y;
        Z = z;
        Width = width;
        Height = height;
        Depth = depth;
    }

    public uint X { readonly get => LittleEndian.ToHost(_x); set => _x = LittleEndian.FromHost(value); }

    public uint Y { readonly get => LittleEndian.ToHost(_y); set => _y = LittleEndian.FromHost(value); }

    public uint Z { readonly get => LittleEndian.ToHost(_z); set => _z = LittleEndian.FromHost(value); }

    public uint Width { readonly get => LittleEndian.ToHost(_width); set => _width = LittleEndian.FromHost(value); }

    public uint Height { readonly get => LittleEndian.ToHost(_height); set => _height = LittleEndian.FromHost(value); }

    public uint Depth { readonly get => LittleEndian.ToHost(_depth); set => _depth = LittleEndian.FromHost(value); }
}
