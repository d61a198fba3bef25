using System.Runtime.InteropServices;
using IoVirt.Abi.Virtio;

namespace IoVirt.Abi.Gpu;

/// <summary>A rectangle in pixels, virtio 1.2 §5.7.6.8: x, y, width, height (le32 each).</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct VirtioGpuRect
{
    public const int Size = 16;

    private uint _x;
    private uint _y;
    private uint _width;
    private uint _height;

    public VirtioGpuRect(uint x, uint y, uint width, uint height)
    {
        X = x;
        Y = y;
        Width = width;
        Height = height;
    }

    public uint X { readonly get => LittleEndian.ToHost(_x); set => _x = LittleEndian.FromHost(value); }

    public uint Y { readonly get => LittleEndian.ToHost(_y); set => _y = LittleEndian.FromHost(value); }

    public uint Width { readonly get => LittleEndian.ToHost(_width); set => _width = LittleEndian.FromHost(value); }

    public uint Height { readonly get => LittleEndian.ToHost(_height); set => _height = LittleEndian.FromHost(value); }

    /// <summary>Whether the rectangle lies wholly inside a <paramref name="width"/> by <paramref name="height"/> area (computed without overflow).</summary>
    public readonly bool IsInside(uint width, uint height) =>
        (ulong)X + Width <= width && (ulong)Y + Height <= height;
}
