using IoVirt.Abi.Gpu;

namespace IoVirt.Backends.Gpu;

/// <summary>A 2D resource: the host's copy of its pixels (4 bytes each, rows of Width pixels) and its backing, if attached.</summary>
internal sealed class GpuResource(uint id, VirtioGpuFormat format, uint width, uint height)
{
    public const int BytesPerPixel = 4;

    public uint Id { get; } = id;

    public VirtioGpuFormat Format { get; } = format;

    public uint Width { get; } = width;

    public uint Height { get; } = height;

    public int Stride => (int)Width * BytesPerPixel;

    public byte[] Pixels { get; } = new byte[(long)width * height * BytesPerPixel];

    public GpuBacking? Backing { get; set; }

    /// <summary>Host bytes a resource of this size takes (the quota's unit).</summary>
    public static ulong BytesFor(uint width, uint height) => (ulong)width * height * BytesPerPixel;

    public static bool IsKnownFormat(VirtioGpuFormat format) => format is VirtioGpuFormat.B8G8R8A8Unorm or VirtioGpuFormat.B8G8R8X8Unorm
        or VirtioGpuFormat.A8R8G8B8Unorm or VirtioGpuFormat.X8R8G8B8Unorm or VirtioGpuFormat.R8G8B8A8Unorm
        or VirtioGpuFormat.X8B8G8R8Unorm or VirtioGpuFormat.A8B8G8R8Unorm or VirtioGpuFormat.R8G8B8X8Unorm;
}
